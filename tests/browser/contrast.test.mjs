// Every text of every page reads at WCAG AA contrast (4.5:1, 3:1 for large
// text) in light and in dark mode, measured in Chromium from the colours the
// page computes: each element's text colour against the background it is
// painted on (its own or an ancestor's, semi-transparent layers blended).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser } from './harness.mjs';

const shared = useServerAndBrowser();

const PAGES = ['/', '/new', '/edit?id=a', '/delete?id=a', '/history?id=a', '/audit'];

/** In the page: the texts below AA, as "text (colour on background): ratio". */
function lowContrastTexts() {
  const parse = (css) => {
    const [r, g, b, a = 1] = css.match(/[\d.]+/g).map(Number);
    return { r, g, b, a };
  };
  const over = (top, bottom) => ({
    r: top.r * top.a + bottom.r * (1 - top.a),
    g: top.g * top.a + bottom.g * (1 - top.a),
    b: top.b * top.a + bottom.b * (1 - top.a),
    a: 1,
  });
  const luminance = ({ r, g, b }) => {
    const channel = (c) => {
      const s = c / 255;
      return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  // The background an element is painted on: its layers down to an opaque one.
  const background = (element) => {
    const layers = [];
    for (let e = element; e; e = e.parentElement) {
      const style = getComputedStyle(e);
      const colour = parse(style.backgroundColor);
      if (colour.a > 0) layers.push(colour);
      if (colour.a === 1) break;
    }
    let result = { r: 255, g: 255, b: 255, a: 1 }; // the canvas
    for (const layer of layers.reverse()) result = over(layer, result);
    return result;
  };
  const found = [];
  for (const element of document.querySelectorAll('body *')) {
    const ownText = [...element.childNodes]
      .filter((n) => n.nodeType === Node.TEXT_NODE)
      .map((n) => n.textContent.trim())
      .join(' ')
      .trim();
    const isField = element.matches('input:not([type=hidden]), textarea, select');
    const text = isField ? element.value || element.placeholder : ownText;
    if (!text) continue;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    if (style.visibility === 'hidden' || box.width === 0 || box.height === 0) continue;
    if (element.closest('.skip-link')) continue; // shown on focus only, checked there
    const back = background(element);
    const fore = over(parse(style.color), back);
    const [light, dark] = [luminance(fore), luminance(back)].sort((a, b) => b - a);
    const ratio = (light + 0.05) / (dark + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      found.push(`"${text.slice(0, 40)}" (${style.color} on ${style.backgroundColor}): ${ratio.toFixed(2)}`);
    }
  }
  return found;
}

for (const colorScheme of ['light', 'dark']) {
  test(`every text has AA contrast in ${colorScheme} mode`, async () => {
    const context = await shared.browser.newContext({ colorScheme });
    const page = await context.newPage();
    const failures = [];
    for (const path of PAGES) {
      const response = await page.goto(shared.server.base + path);
      assert.equal(response.status(), 200, path);
      // Measured once the stylesheet applies (the page's own background): one
      // CI run saw a page evaluated without it.
      await page.waitForFunction(
        () => getComputedStyle(document.documentElement).backgroundColor !== 'rgba(0, 0, 0, 0)',
        null,
        { timeout: 5000 },
      );
      for (const failure of await page.evaluate(lowContrastTexts)) failures.push(`${path}: ${failure}`);
    }
    // A form with its errors shown: an ID that is taken.
    await page.goto(shared.server.base + '/new');
    await page.getByLabel('Customer ID').fill('a');
    await page.getByLabel('First name').fill('Taken');
    await page.getByLabel('Last name').fill('Id');
    await page.getByRole('button', { name: 'Create customer' }).click();
    await page.locator('.field-error, .notice.error').first().waitFor();
    for (const failure of await page.evaluate(lowContrastTexts)) failures.push(`/new with errors: ${failure}`);
    await context.close();
    assert.deepEqual(failures, []);
  });
}
