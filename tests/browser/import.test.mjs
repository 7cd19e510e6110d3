// Importing a file in the UI, in real headless Chromium: a 100,000-row CSV
// with some bad rows is checked (each rejected row named with its reason),
// imported with a progress bar, and summed up (created, updated, unchanged,
// rejected), with JavaScript on and off; a JSON file is checked entry by
// entry; a file that cannot be read is refused with a page saying why.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { useServerAndBrowser, newPage, waitForHydration, legacyApi } from './harness.mjs';

const shared = useServerAndBrowser();

const { get: apiGet, set: apiSet } = legacyApi(shared);

const ROWS = 100_000;

/** A CSV of `ROWS` customers `PREFIX-n` plus the given extra lines, and its
 *  bad rows: (line, reason) as the preview must name them. */
function bigCsv(prefix, extra) {
  const lines = ['customerID,firstName,lastName'];
  for (let n = 1; n <= ROWS; n += 1) lines.push(`${prefix}-${n},Imported,"Row ${n}"`);
  lines.push(...extra);
  return Buffer.from(lines.join('\r\n') + '\r\n');
}

async function chooseFile(page, name, buffer) {
  await page.goto(`${shared.server.base}/import`);
  await page.getByLabel('File to import').setInputFiles({ name, mimeType: 'text/csv', buffer });
  await page.getByRole('button', { name: 'Check the file' }).click();
  await page.waitForURL((url) => url.pathname === '/import' && url.searchParams.has('upload'));
}

/** The summary's counts, by their names. */
async function summary(page) {
  const terms = await page.locator('.import-summary dt').allTextContents();
  const values = await page.locator('.import-summary dd').allTextContents();
  return Object.fromEntries(terms.map((term, i) => [term, values[i]]));
}

for (const javaScriptEnabled of [true, false]) {
  const js = `JavaScript ${javaScriptEnabled ? 'on' : 'off'}`;
  const prefix = javaScriptEnabled ? 'imp-j' : 'imp-n';

  test(`a 100,000-row CSV with bad rows is previewed, imported with progress and summed up (${js})`, async () => {
    // One customer the file updates, one it leaves as it is.
    await apiSet(`${prefix}-1`, 'Before', 'Import');
    await apiSet(`${prefix}-2`, 'Imported', 'Row 2');
    const extra = [
      `${prefix}-bad-1,,Nofirst`, // line ROWS + 2
      `${prefix}-bad-2,Only two`, // line ROWS + 3
      `${prefix}-5,Twice,Again`, // line ROWS + 4
    ];
    const { page, problems } = await newPage(shared.browser, { javaScriptEnabled });
    await chooseFile(page, `${prefix}.csv`, bigCsv(prefix, extra));
    if (javaScriptEnabled) await waitForHydration(page);

    await page.getByText(`${prefix}.csv: 100,003 rows read, 100,000 ready to import, 3 rejected.`).waitFor();
    const rejected = page.locator('table.import-problems tbody tr');
    assert.equal(await rejected.count(), 3);
    const cells = async (row) => rejected.nth(row).locator('td').allTextContents();
    const [first, second, third] = [await cells(0), await cells(1), await cells(2)];
    assert.deepEqual(first.slice(0, 2), [String(ROWS + 2), `${prefix}-bad-1`]);
    assert.match(first[2], /first name/i);
    assert.deepEqual(second.slice(0, 2), [String(ROWS + 3), `${prefix}-bad-2`]);
    assert.match(second[2], /2 fields/);
    assert.deepEqual(third.slice(0, 2), [String(ROWS + 4), `${prefix}-5`]);
    assert.match(third[2], /already on row 6/);
    // Nothing is written before the import is confirmed.
    assert.equal((await apiGet(`${prefix}-3`)).status, 404);

    await page.getByRole('button', { name: 'Import 100,000 customers' }).click();
    if (!javaScriptEnabled) {
      // Without JavaScript the page shows the progress when asked again.
      await page.locator('progress.import-progress').waitFor();
      while (await page.locator('.import-summary').count() === 0) {
        await page.getByRole('link', { name: 'Show the progress again' }).click();
        await page.waitForLoadState();
      }
    } else {
      // The bar moves by itself: it is seen part way, then the summary replaces it.
      const bar = page.locator('progress.import-progress');
      await bar.waitFor();
      // The page showing the bar preloads the progress island's chunk (it is lazy).
      const preloaded = await page.evaluate(() => !document.querySelector('progress.import-progress')
        || document.querySelector('link[rel="preload"][href*="_progress_loader_"]') !== null);
      assert.ok(preloaded, 'the progress island\'s chunk is preloaded');
      await page.waitForFunction(() => {
        const bar = document.querySelector('progress.import-progress');
        return !bar || (bar.value > 0 && bar.value < bar.max);
      });
    }
    await page.locator('.import-summary').waitFor({ timeout: 120_000 });
    await page.getByText(`Imported ${prefix}.csv in`).waitFor();
    assert.deepEqual(await summary(page), {
      Created: '99,998', Updated: '1', Unchanged: '1', Rejected: '3',
      'Kept as someone else changed them': '0',
    });

    assert.deepEqual((await apiGet(`${prefix}-1`)).body,
      { customerID: `${prefix}-1`, firstName: 'Imported', lastName: 'Row 1' });
    assert.deepEqual((await apiGet(`${prefix}-${ROWS}`)).body,
      { customerID: `${prefix}-${ROWS}`, firstName: 'Imported', lastName: `Row ${ROWS}` });
    assert.equal((await apiGet(`${prefix}-bad-1`)).status, 404);
    // The first occurrence of a repeated ID is the one imported.
    assert.equal((await apiGet(`${prefix}-5`)).body.firstName, 'Imported');
    assert.deepEqual(problems, []);
    await page.context().close();
  });
}

test('importing the same file again changes nothing, and says so', async () => {
  const csv = Buffer.from('customerID,firstName,lastName\nagain-1,Ann,Again\nagain-2,Bob,Again\n');
  const { page, problems } = await newPage(shared.browser);
  for (const expected of [{ Created: '2', Unchanged: '0' }, { Created: '0', Unchanged: '2' }]) {
    await chooseFile(page, 'again.csv', csv);
    await waitForHydration(page);
    await page.getByRole('button', { name: 'Import 2 customers' }).click();
    await page.locator('.import-summary').waitFor();
    const counts = await summary(page);
    assert.equal(counts.Created, expected.Created);
    assert.equal(counts.Unchanged, expected.Unchanged);
  }
  assert.deepEqual(problems, []);
  await page.context().close();
});

test('a JSON file is checked entry by entry', async () => {
  const json = JSON.stringify({
    'json-1': { customerID: 'json-1', firstName: 'Jo', lastName: 'Son' },
    'json-2': { customerID: 'json-3', firstName: 'Mis', lastName: 'Match' },
    'json-4': { customerID: 'json-4', firstName: 'No last name' },
  });
  const { page } = await newPage(shared.browser);
  await chooseFile(page, 'customers.json', Buffer.from(json));
  await page.getByText('customers.json: 3 rows read, 1 ready to import, 2 rejected.').waitFor();
  const reasons = await page.locator('table.import-problems tbody tr td:last-child').allTextContents();
  assert.match(reasons[0], /differs from its customerID/);
  assert.match(reasons[1], /last name/i);
  await waitForHydration(page);
  await page.getByRole('button', { name: 'Import 1 customer' }).click();
  await page.locator('.import-summary').waitFor();
  assert.equal((await apiGet('json-1')).body.lastName, 'Son');
  assert.equal((await apiGet('json-3')).status, 404);
  await page.context().close();
});

test('a file that cannot be read is refused with the reason, and nothing is held', async () => {
  for (const javaScriptEnabled of [true, false]) {
    const { page } = await newPage(shared.browser, { javaScriptEnabled });
    await page.goto(`${shared.server.base}/import`);
    await page.getByLabel('File to import').setInputFiles({
      name: 'wrong.csv', mimeType: 'text/csv', buffer: Buffer.from('id,name\n1,Ann\n'),
    });
    const [response] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/import/upload')),
      page.getByRole('button', { name: 'Check the file' }).click(),
    ]);
    assert.equal(response.status(), 422);
    await page.getByText('The CSV header must be customerID,firstName,lastName; it has id, name as well.').waitFor();
    await page.getByRole('link', { name: 'Choose another file' }).click();
    await page.getByLabel('File to import').waitFor();
    await page.context().close();
  }
});

test('an upload that is not held says so, with the way back', async () => {
  const { page } = await newPage(shared.browser);
  await page.goto(`${shared.server.base}/import?upload=not-a-real-upload`);
  await page.getByText('This import is no longer available').waitFor();
  await page.getByRole('link', { name: 'Choose a file' }).waitFor();
  await page.context().close();
});
