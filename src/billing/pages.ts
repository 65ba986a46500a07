/** The short pages Stripe sends people back to: they say to return to the chat. */
function page(title: string, text: string): string {
  const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)} · SpawnAI</title><link rel="stylesheet" href="/assets/app.css"></head><body><main class="layout"><section class="chat"><div class="empty"><h1>${esc(title)}</h1><p>${esc(text)}</p></div></section></main></body></html>`;
}

export const SUCCESS_PAGE = page(
  'Thank you!',
  'Your payment went through. Go back to the chat: SpawnAI will tell you there as soon as it is active.',
);
export const CANCEL_PAGE = page('Checkout cancelled', 'Nothing was charged. You can go back to the chat.');
export const RETURN_PAGE = page('All set', 'You can close this tab and go back to the chat.');
export const BAD_LINK_PAGE = page(
  'This link has expired',
  'Ask again in the chat (for example /upgrade) for a fresh payment link.',
);
