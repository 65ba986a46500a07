CREATE TABLE "slack_installations" (
	"id" text PRIMARY KEY NOT NULL,
	"team_id" text,
	"enterprise_id" text,
	"team_name" text DEFAULT '' NOT NULL,
	"app_id" text,
	"bot_user_id" text NOT NULL,
	"bot_id" text,
	"bot_token_encrypted" text NOT NULL,
	"scopes" text DEFAULT '' NOT NULL,
	"installed_by" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
