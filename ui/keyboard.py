"""Keyboard access to Plotly's animation controls, a tab order without the chart toolbars, and
touch targets of at least 44 px on phones.

Plotly draws Play/Pause (``updatemenus`` buttons) and the step slider as SVG
groups that never take focus, and its toolbar (the "modebar": zoom, pan,
download, ...) puts 8 buttons per chart into the tab order, so a keyboard user
tabbed through dozens of them and could never press Play. ``enable()`` installs,
once per browser tab, a small script in the app's own document (a zero-height
component adds it as a ``<script>`` to the parent page, so it keeps running
across reruns and page switches) that, for every chart drawn now or later:

- gives each updatemenu button ``tabindex=0``, ``role=button`` and an
  ``aria-label`` (its text, e.g. "Play"); Enter or Space clicks it;
- makes each slider a focusable ``role=slider`` with ``aria-valuemin/max/now``
  and ``aria-valuetext`` ("step 40"); Left/Right (or Down/Up) go one frame back
  or forward, Page Down/Up ten, Home/End to the first or last frame, by running
  the slider step's own command (``Plotly.animate`` with the step's frame);
- takes the modebar's buttons out of the tab order (``tabindex=-1``); they stay
  usable with a mouse;
- draws a visible focus ring on the focused control;
- on a phone (narrow or touch screen) makes the page's buttons and page links at least
  44 px tall (Streamlit draws them 40 px), the touch-target size of WCAG 2.5.5, and hides
  Plotly's toolbar, whose 16 px icons covered the legend (pinch and drag still zoom and pan).
"""

from __future__ import annotations

import json

import streamlit.components.v1 as components

# Runs in the app's document (not in the component's iframe, which is replaced on each rerun).
PARENT_SCRIPT = r"""
(() => {
  if (window.lrlKeyboard) return;
  window.lrlKeyboard = true;
  const css = document.createElement('style');
  css.textContent = `
    .js-plotly-plot g.updatemenu-button:focus, .js-plotly-plot g.slider-container:focus { outline: none; }
    .js-plotly-plot g.updatemenu-button:focus-visible rect.updatemenu-item-rect,
    .js-plotly-plot g.slider-container:focus-visible rect.slider-rail-rect {
      stroke: #E4572E !important; stroke-width: 3px !important; }
    @media (max-width: 640px), (pointer: coarse) {
      [data-testid^='stBaseButton'], [data-testid='stPageLink-NavLink'],
      [data-testid='stLinkButton'] a { min-height: 44px; }
      .js-plotly-plot .modebar-container { display: none !important; } }`;
  document.head.appendChild(css);

  const press = (el) => {
    const box = el.getBoundingClientRect();
    const at = {bubbles: true, cancelable: true, view: window,
                clientX: box.left + box.width / 2, clientY: box.top + box.height / 2};
    el.dispatchEvent(new MouseEvent('mousedown', at));
    el.dispatchEvent(new MouseEvent('mouseup', at));
    el.dispatchEvent(new MouseEvent('click', at));
  };
  const sliderOf = (gd, k) => (gd._fullLayout && gd._fullLayout.sliders || [])[k];
  const describeSlider = (g, gd, k) => {
    const s = sliderOf(gd, k);
    if (!s) return;
    const step = s.steps[s.active] || {};
    g.setAttribute('aria-valuemin', '0');
    g.setAttribute('aria-valuemax', String(s.steps.length - 1));
    g.setAttribute('aria-valuenow', String(s.active));
    const prefix = (s.currentvalue && s.currentvalue.prefix) || '';
    g.setAttribute('aria-valuetext', (prefix + (step.label || s.active)).trim());
  };
  const goTo = (gd, k, index) => {
    const s = sliderOf(gd, k);
    if (!s || !s.steps.length) return;
    const i = Math.max(0, Math.min(s.steps.length - 1, index));
    const step = s.steps[i];
    if (!window.Plotly || !window.Plotly[step.method]) return;
    Promise.resolve(window.Plotly[step.method](gd, ...step.args)).then(() => {
      // the slider follows the frame it shows; move it if the command did not
      if (sliderOf(gd, k).active !== i) window.Plotly.relayout(gd, {[`sliders[${k}].active`]: i});
    });
  };

  const wire = () => {
    document.querySelectorAll('.js-plotly-plot .modebar-btn:not([tabindex="-1"])')
      .forEach((b) => b.setAttribute('tabindex', '-1'));
    document.querySelectorAll('.js-plotly-plot g.updatemenu-button').forEach((g) => {
      const text = (g.textContent || '').replace(/[^\p{L}\p{N} ]/gu, '').trim() || 'button';
      if (g.getAttribute('aria-label') !== text) g.setAttribute('aria-label', text);
      if (g.dataset.lrlKey) return;
      g.dataset.lrlKey = '1';
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.addEventListener('keydown', (e) => {
        if (e.key !== 'Enter' && e.key !== ' ') return;
        e.preventDefault();
        press(g);
      });
    });
    document.querySelectorAll('.js-plotly-plot').forEach((gd) => {
      gd.querySelectorAll('g.slider-container').forEach((g, k) => {
        describeSlider(g, gd, k);
        if (g.dataset.lrlKey) return;
        g.dataset.lrlKey = '1';
        g.setAttribute('tabindex', '0');
        g.setAttribute('role', 'slider');
        g.setAttribute('aria-label', 'Animation frame');
        g.addEventListener('keydown', (e) => {
          const s = sliderOf(gd, k);
          if (!s) return;
          const last = s.steps.length - 1;
          const to = {ArrowRight: s.active + 1, ArrowUp: s.active + 1, ArrowLeft: s.active - 1,
                      ArrowDown: s.active - 1, PageUp: s.active + 10, PageDown: s.active - 10,
                      Home: 0, End: last}[e.key];
          if (to === undefined) return;
          e.preventDefault();
          goTo(gd, k, to);
        });
      });
      if (!gd.dataset.lrlFrames && gd.on) {
        gd.dataset.lrlFrames = '1';
        const update = () => gd.querySelectorAll('g.slider-container')
          .forEach((g, k) => describeSlider(g, gd, k));
        gd.on('plotly_animated', update);
        gd.on('plotly_sliderchange', update);
        gd.on('plotly_relayout', update);
      }
    });
  };
  let queued = false;
  new MutationObserver(() => {
    if (queued) return;
    queued = true;
    requestAnimationFrame(() => { queued = false; wire(); });
  }).observe(document.body, {childList: true, subtree: true});
  wire();
})();
"""

INSTALL_JS = """
<script>
const doc = window.parent.document;
if (!doc.getElementById('lrl-keyboard')) {
  const s = doc.createElement('script');
  s.id = 'lrl-keyboard';
  s.textContent = %s;
  doc.head.appendChild(s);
}
</script>
"""


def install_script() -> str:
    """The component's HTML: adds PARENT_SCRIPT to the app's document once."""
    return INSTALL_JS % json.dumps(PARENT_SCRIPT)


def enable() -> None:
    """Make every Plotly chart's Play/Pause and step slider keyboard-usable (see module doc)."""
    components.html(install_script(), height=0)
