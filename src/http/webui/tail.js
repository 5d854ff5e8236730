// SPDX-License-Identifier: MIT
// tend's tail page (http/webui.c: tail.html): each <pre data-src> follows
// its /logtail stream (the last KiB of the file, then what is written)
// with fetch's streaming body. It keeps the last MAX_CHARS characters,
// scrolls along when at the bottom, and reconnects when the stream ends
// (the daemon restarted, the file is not there yet).
'use strict';

(function () {
  const MAX_CHARS = 256 * 1024;
  const RETRY_MS = 2000;

  function follow(pre) {
    const label = pre.parentElement.querySelector('.live');
    label.hidden = false;

    function say(text, on) {
      label.textContent = text;
      label.className = on ? 'live on' : 'live';
    }

    let size = 0; // characters in pre, counted rather than measured

    function append(text) {
      const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(text);
      size += text.length;
      if (size > MAX_CHARS) {
        pre.textContent = pre.textContent.slice(-MAX_CHARS / 2);
        size = pre.textContent.length;
      }
      if (atBottom) pre.scrollTop = pre.scrollHeight;
    }

    async function run() {
      for (;;) {
        try {
          say('connecting…', false);
          const r = await fetch(pre.dataset.src, {cache: 'no-store'});
          if (r.status === 404) {
            say('no log file (yet)', false);
          } else if (!r.ok) {
            say('HTTP ' + r.status, false);
          } else {
            // The stream starts with the file's last KiB again: what was
            // shown is replaced, not repeated.
            pre.textContent = '';
            size = 0;
            say('live', true);
            const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
            for (;;) {
              const {value, done} = await reader.read();
              if (done) break;
              append(value);
            }
            say('stream ended', false);
          }
        } catch (e) {
          say('disconnected (' + e.message + ')', false);
        }
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
    run();
  }

  for (const pre of document.querySelectorAll('pre[data-src]')) follow(pre);
})();
