/** Discord caps a string option at 6000 characters. */
const DISCORD_STRING_OPTION_MAX = 6000;

/**
 * Option type 3: a string; 11: an attachment (ApplicationCommandOptionType.Attachment, see
 * https://discord.com/developers/docs/interactions/application-commands#application-command-object-application-command-option-type).
 * Command type 1: a chat-input (slash) command.
 */
const STRING_OPTION = 3;
const ATTACHMENT_OPTION = 11;
const CHAT_INPUT = 1;

/** Where the command may be used: 0 guild channels, 1 the bot's DMs. Installed to guilds (0). */
const CONTEXTS = [0, 1];
const GUILD_INSTALL = [0];

/** A slash command as `PUT /applications/{id}/commands` takes it. */
export interface SlashCommandDefinition {
  readonly name: string;
  readonly type: number;
  readonly description: string;
  readonly options: readonly {
    readonly type: number;
    readonly name: string;
    readonly description: string;
    readonly required: boolean;
    readonly max_length?: number;
  }[];
  readonly contexts: readonly number[];
  readonly integration_types: readonly number[];
}

/**
 * The commands SpawnAI registers: one `/spawn` whose `prompt` is either what to build or
 * `status | list | stop | extend | help` (optionally with an app id), parsed by the conversation
 * exactly like `/spawn <text>` on every other platform.
 */
export function slashCommands(promptMaxChars: number): SlashCommandDefinition[] {
  return [
    {
      name: 'spawn',
      type: CHAT_INPUT,
      description: 'Build and run an app from a description, or manage your apps',
      options: [
        {
          type: STRING_OPTION,
          name: 'prompt',
          description: 'What to build, or: status | list | stop | extend | help [app id]',
          required: true,
          max_length: Math.min(promptMaxChars, DISCORD_STRING_OPTION_MAX),
        },
        {
          type: ATTACHMENT_OPTION,
          name: 'picture',
          description: 'A picture of how it should look (JPEG, PNG, GIF or WebP)',
          required: false,
        },
      ],
      contexts: CONTEXTS,
      integration_types: GUILD_INSTALL,
    },
  ];
}
