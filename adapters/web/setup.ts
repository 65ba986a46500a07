/** The web chat needs no setup commands: it is served by the web process with no keys or registration. */
export {};
