// One message bubble: text or image, edit/recall state, reactions, receipt
// and the actions (react, edit, recall).

import { formatTime, h } from './dom.js';

const QUICK_REACTIONS = ['👍', '❤️', '😂'];

/** The line shown for a membership event, or '' for events not shown. */
export function systemText(m) {
  const mb = m.event?.membership;
  if (!mb) return '';
  const users = (mb.userIds ?? []).join(', ');
  switch (mb.action) {
    case 'ACTION_CREATED':
      return `${mb.actor} created “${mb.name ?? ''}” with ${users}`;
    case 'ACTION_JOINED':
      return `${mb.actor} added ${users}`;
    case 'ACTION_LEFT':
      return `${users || mb.actor} left`;
    case 'ACTION_REMOVED':
      return `${mb.actor} removed ${users}`;
    case 'ACTION_UPDATED':
      return `${mb.actor} renamed the group to “${mb.name ?? ''}”`;
    case 'ACTION_DISMISSED':
      return `${mb.actor} dismissed the group`;
    default:
      return `${mb.actor}: ${(mb.action ?? '').replace('ACTION_', '').toLowerCase()}`;
  }
}

function attachmentView(m, ctx) {
  return (m.attachments ?? []).map((a) => {
    if ((a.mimeType ?? '').startsWith('image/')) {
      const full = ctx.client.mediaUrl(a.url);
      const img = h('img', {
        class: 'thumb',
        'data-testid': 'message-image',
        alt: a.name ?? 'image',
        src: ctx.client.mediaUrl(a.url, { thumbnail: true }),
      });
      // An image without a thumbnail (too small, or not decodable) shows itself.
      img.addEventListener('load', () => ctx.onMediaLoaded?.());
      img.addEventListener(
        'error',
        () => {
          if (img.src !== full) img.src = full;
        },
        { once: true },
      );
      return h('a', { href: full, target: '_blank', rel: 'noopener' }, img);
    }
    return h(
      'a',
      {
        class: 'file',
        'data-testid': 'message-file',
        href: ctx.client.mediaUrl(a.url),
        target: '_blank',
      },
      `📎 ${a.name ?? a.url}`,
    );
  });
}

function reactionsView(m, ctx) {
  const reactions = m.reactions ?? [];
  return h(
    'div',
    { class: 'reactions', 'data-testid': 'reactions' },
    reactions.map((r) =>
      h(
        'button',
        {
          class: (r.userIds ?? []).includes(ctx.me) ? 'reaction mine' : 'reaction',
          'data-testid': 'reaction',
          'data-emoji': r.emoji,
          title: (r.userIds ?? []).join(', '),
          onclick: () => ctx.onReact(m, r.emoji),
        },
        `${r.emoji} ${r.count ?? (r.userIds ?? []).length}`,
      ),
    ),
  );
}

function receiptView(m, ctx) {
  if (m.sender !== ctx.me) return null;
  if (ctx.peerReadSeq >= 0) {
    const read = m.seq <= ctx.peerReadSeq;
    return h(
      'span',
      { class: read ? 'receipt read' : 'receipt', 'data-testid': 'receipt' },
      read ? 'Read' : 'Sent',
    );
  }
  const r = ctx.groupReceipt;
  if (r && r.seq === m.seq) {
    return h(
      'span',
      { class: 'receipt', 'data-testid': 'receipt' },
      `Read by ${r.readCount ?? 0}/${Math.max(0, (r.memberCount ?? 1) - 1)}`,
    );
  }
  return null;
}

function actionsView(m, ctx) {
  const own = m.sender === ctx.me;
  return h(
    'div',
    { class: 'actions' },
    QUICK_REACTIONS.map((emoji, i) =>
      h(
        'button',
        {
          'data-testid': i === 0 ? 'react-button' : `react-button-${i}`,
          title: `react ${emoji}`,
          onclick: () => ctx.onReact(m, emoji),
        },
        emoji,
      ),
    ),
    own &&
      m.type === 'MESSAGE_TYPE_TEXT' &&
      h('button', { 'data-testid': 'edit-button', onclick: () => ctx.onEdit(m) }, 'Edit'),
    own &&
      h('button', { 'data-testid': 'recall-button', onclick: () => ctx.onRecall(m) }, 'Recall'),
  );
}

/**
 * @param {object} m a Message
 * @param {object} ctx {me, client, peerReadSeq, groupReceipt, editing, onReact, onEdit, onRecall}
 */
export function renderMessage(m, ctx) {
  const own = m.sender === ctx.me;
  const recalled = m.status === 'MESSAGE_STATUS_RECALLED';
  const edited = m.status === 'MESSAGE_STATUS_EDITED';
  const cls = [
    'message',
    own ? 'own' : 'theirs',
    recalled && 'recalled',
    ctx.editing === m.seq && 'being-edited',
  ];
  return h(
    'div',
    {
      class: cls.filter(Boolean).join(' '),
      'data-testid': 'message',
      'data-seq': m.seq,
      'data-sender': m.sender,
      'data-status': recalled ? 'recalled' : edited ? 'edited' : 'normal',
    },
    h(
      'div',
      { class: 'meta' },
      h('span', { class: 'sender' }, m.sender),
      ' ',
      h('time', {}, formatTime(m.serverTimeMs)),
    ),
    recalled
      ? h('div', { class: 'text', 'data-testid': 'message-text' }, h('em', {}, 'message recalled'))
      : [
          m.content?.text &&
            h('div', { class: 'text', 'data-testid': 'message-text' }, m.content.text),
          attachmentView(m, ctx),
        ],
    edited && h('span', { class: 'edited', 'data-testid': 'message-edited' }, 'edited'),
    !recalled && reactionsView(m, ctx),
    receiptView(m, ctx),
    !recalled && actionsView(m, ctx),
  );
}
