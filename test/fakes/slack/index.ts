export { blocksText, buttonsOf } from './blocks.js';
export * from './payloads.js';
export * from './server.js';
export { type SendOptions, type SignedResponse, SLACK_USER_AGENT, SlackSigner } from './signer.js';
export { FakeSocketMode, type SocketAck } from './socket.js';
