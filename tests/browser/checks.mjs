// Checks run inside the page (each function is sent to the browser whole, so it uses nothing
// from outside itself).

/// Null when the page does not scroll sideways; else the widest element that makes it.
export function noHorizontalScroll() {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width) return null;
  let worst = null;
  for (const node of document.querySelectorAll('body *')) {
    const r = node.getBoundingClientRect();
    if (r.right > width + 1 && (!worst || r.right > worst.right)) worst = { right: r.right, tag: node.tagName, id: node.id, cls: node.className };
  }
  return `scrollWidth ${document.documentElement.scrollWidth} > ${width}: ${JSON.stringify(worst)}`;
}

/// Basic WCAG checks of what is visible: every form control has a label (or aria-label), every
/// button and link has a name, text contrast is at least 4.5:1 (3:1 for large text).
export function a11yProblems() {
  const problems = [];
  const visible = n => !!(n.offsetWidth || n.offsetHeight || n.getClientRects().length) && getComputedStyle(n).visibility !== 'hidden';
  for (const c of document.querySelectorAll('input, select, textarea')) {
    if (!visible(c) || c.type === 'hidden') continue;
    const named = (c.labels && c.labels.length) || c.getAttribute('aria-label') || c.getAttribute('aria-labelledby');
    if (!named) problems.push(`unlabelled ${c.tagName.toLowerCase()}#${c.id}`);
  }
  for (const b of document.querySelectorAll('button, a[href]')) {
    if (visible(b) && !(b.textContent.trim() || b.getAttribute('aria-label'))) problems.push(`unnamed ${b.tagName.toLowerCase()}#${b.id}`);
  }
  const rgb = s => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  const background = n => {
    for (let e = n; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const seen = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const n = t.parentElement;
    if (!t.textContent.trim() || !n || seen.has(n) || !visible(n) || n.closest('svg')) continue;
    seen.add(n);
    const s = getComputedStyle(n);
    const fg = rgb(s.color).slice(0, 3), bg = background(n);
    const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
    const ratio = (a + 0.05) / (b + 0.05);
    const large = parseFloat(s.fontSize) >= 24 || (parseFloat(s.fontSize) >= 18.5 && Number(s.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)} for "${t.textContent.trim().slice(0, 30)}" (${s.color} on rgb(${bg}))`);
  }
  return problems;
}
