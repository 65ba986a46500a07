/**
 * Connections or requests a fake holds without answering (a socket that never gets its
 * greeting, an answer that comes late): how many came, which are open now, and the most open
 * at once, so a test can show that a client closes what it gave up on.
 *
 * It enforces no rule of a platform: it only counts. What is withheld is each fake's own
 * documented behaviour, cited where it is withheld: Discord's Hello
 * (https://discord.com/developers/docs/events/gateway#hello-event), Slack's Socket Mode
 * `hello` (https://docs.slack.dev/apis/events-api/using-socket-mode/) and the Bot API's
 * requests (https://core.telegram.org/bots/api#making-requests).
 */
export class HeldConnections<T> {
  accepted = 0;
  mostOpen = 0;
  readonly open = new Set<T>();

  /** Counts `item` as held and open; the function returned marks it closed. */
  hold(item: T): () => void {
    this.accepted++;
    this.open.add(item);
    this.mostOpen = Math.max(this.mostOpen, this.open.size);
    return () => {
      this.open.delete(item);
    };
  }
}
