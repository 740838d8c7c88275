// The peers benchmark's report: markdown tables with ratios (peer / Doorstep) for docs/perf.md,
// and an SVG chart of the slow-link times.

const STACKS = ['doorstep', 'automerge-repo', 'pouchdb'];
const linkWords = (name, link) =>
  link.cutMid
    ? 'the same, cut once halfway through (at half its own time above)'
    : link.cuts
    ? `the same, cut every ${link.cuts.minMs / 1000}–${link.cuts.maxMs / 1000} s (run ${name.slice(5)})`
    : link.delayMs
      ? `${2 * link.delayMs} ms RTT, ${link.kbitPerSec / 1000} Mbit/s`
      : 'loopback';

const n = (x) => Math.round(x).toLocaleString('en-US');
const sec = (ms) => (ms >= 10_000 ? (ms / 1000).toFixed(1) : (ms / 1000).toFixed(2)) + ' s';
const ratio = (peer, own) => (own > 0 ? (peer / own).toFixed(peer / own >= 10 ? 0 : 1) + '×' : '–');
const mb = (x) => x.toFixed(1);

function syncTable(results, kind) {
  const rows = [
    '| link | stack | bytes (up + down) | × Doorstep | round trips | × Doorstep | connections | wall time | × Doorstep | cuts / attempts | complete, nothing lost or duplicated |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const [name, link] of Object.entries(results.links)) {
    const own = link.doorstep?.[kind];
    for (const stack of STACKS) {
      const r = link[stack]?.[kind];
      if (!r) continue;
      const mine = stack === 'doorstep';
      const c = r.check;
      rows.push(
        `| ${linkWords(name, link.link)} | ${stack} | ${n(r.total)} (${n(r.up)} + ${n(r.down)}) | ${mine ? '1' : ratio(r.total, own.total)} | ${r.roundTrips} | ${mine ? '1' : ratio(r.roundTrips, own.roundTrips)} | ${r.connections} | ${sec(r.ms)} | ${mine ? '1' : ratio(r.ms, own.ms)} | ${link.link.cuts || link.link.cutMid ? `${r.cuts} / ${r.attempts}` : '–'} | ${c.ok ? `yes (${c.documents} documents)` : `**no**: ${c.missing} missing, ${c.differing} differing, ${c.duplicates} duplicated ids`} |`,
      );
    }
  }
  return rows.join('\n');
}

function loadTable(load) {
  const own = load.doorstep;
  const rows = [
    '| stack | phones synced / failed | all done in | p50 | p99 | max | server CPU per sync | × Doorstep | server RSS before → peak → after (MB) | peak × Doorstep |',
    '|---|---|---|---|---|---|---|---|---|---|',
  ];
  for (const stack of STACKS) {
    const r = load[stack];
    if (!r) continue;
    const cpu = r.cpuMs / Math.max(1, r.syncs);
    const mine = stack === 'doorstep';
    rows.push(
      `| ${stack} | ${r.syncs} / ${r.failed} | ${sec(r.wallMs)} | ${n(r.p50Ms)} ms | ${n(r.p99Ms)} ms | ${n(r.maxMs)} ms | ${cpu.toFixed(1)} ms | ${mine ? '1' : ratio(cpu, own.cpuMs / Math.max(1, own.syncs))} | ${mb(r.rssBeforeMb)} → ${mb(r.rssPeakMb)} → ${mb(r.rssAfterMb)} | ${mine ? '1' : ratio(r.rssPeakMb, own.rssPeakMb)} |`,
    );
  }
  return rows.join('\n');
}

export function markdown(results) {
  const v = results.versions;
  const out = [
    `Run of ${results.date} (${results.profile} build of Doorstep ${v.doorstep}; automerge-repo ${v['automerge-repo']} with Automerge ${v.automerge}; pouchdb-node ${v.pouchdb} and express-pouchdb ${v['express-pouchdb']}; Node ${v.node}). The grid: ${results.fixture.documents} documents; phone A's offline work: ${results.fixture.work.visits} visits, ${results.fixture.work.claims} claims, ${results.fixture.work.appeal_updates} appeal updates (${results.fixture.work.changes} Automerge changes in ${results.fixture.work.documents} documents).`,
    '',
    '**Incremental sync** (phone A, holding the grid, after its offline work):',
    '',
    syncTable(results, 'incremental'),
    '',
    '**First sync** of a newly enrolled phone B (the whole grid):',
    '',
    syncTable(results, 'first'),
    '',
  ];
  if (results.load) {
    out.push(
      `**${results.load.grids} phones of different grids at once** (${results.load.grids} grids of ${results.load.households} households with their history, ${results.load.documents} documents on the server; each phone records 5 visits, claims a task and updates an appeal offline, then all sync at the same moment, on loopback; the server's CPU time and memory from /proc):`,
      '',
      loadTable(results.load),
      '',
    );
  }
  return out.join('\n');
}

/// Grouped bars: for each sync (incremental, first) on each slow link (mobile, cuts), one bar per
/// stack, on a log scale (the stacks differ by orders of magnitude), labelled in seconds.
export function chart(results) {
  const groups = [];
  const cutRuns = Object.keys(results.links).filter((k) => k.startsWith('cuts-'));
  const median = (xs) => [...xs].sort((x, y) => x - y)[Math.floor((xs.length - 1) / 2)];
  for (const kind of ['incremental', 'first']) {
    const what = kind === 'incremental' ? '增量同步 incremental' : '首次同步 first sync';
    if (results.links.mobile) {
      groups.push({
        label: `${what} · 弱网 slow link`,
        bars: STACKS.map((s) => ({ stack: s, ms: results.links.mobile[s]?.[kind]?.ms ?? 0, ok: results.links.mobile[s]?.[kind]?.check?.ok })),
      });
    }
    if (results.links['cut-mid']) {
      const l = results.links['cut-mid'];
      groups.push({
        label: `${what} · 中途断线 one cut halfway`,
        bars: STACKS.map((s) => ({ stack: s, ms: l[s]?.[kind]?.ms ?? 0, ok: l[s]?.[kind]?.check?.ok })),
      });
    }
    if (cutRuns.length > 0) {
      groups.push({
        label: `${what} · 断线 with cuts (median of ${cutRuns.length})`,
        bars: STACKS.map((s) => ({
          stack: s,
          ms: median(cutRuns.map((k) => results.links[k][s]?.[kind]?.ms ?? 0)),
          ok: cutRuns.every((k) => results.links[k][s]?.[kind]?.check?.ok),
        })),
      });
    }
  }
  const colors = { doorstep: '#c0392b', 'automerge-repo': '#2c7bb6', pouchdb: '#7f8c8d' };
  const W = 760;
  const left = 300;
  const barH = 18;
  const gap = 14;
  const top = 56;
  const max = Math.max(...groups.flatMap((g) => g.bars.map((b) => b.ms)), 1000);
  const lo = 100; // 0.1 s at the axis origin
  const x = (ms) => left + ((Math.log10(Math.max(ms, lo)) - Math.log10(lo)) / (Math.log10(max * 1.5) - Math.log10(lo))) * (W - left - 150);
  const H = top + groups.length * (3 * barH + gap) + 50;
  const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="'WenQuanYi Micro Hei','Noto Sans CJK SC',sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="#fff"/>`,
    `<text x="${W / 2}" y="22" text-anchor="middle" font-size="15" font-weight="bold">${esc('弱网同步耗时 Time to fully synced on a mobile link (300 ms RTT, 1 Mbit/s)')}</text>`,
    `<text x="${W / 2}" y="40" text-anchor="middle" fill="#555">${esc(`log scale · seconds · ${results.date} · lower is better`)}</text>`,
  ];
  for (const t of [0.1, 0.3, 1, 3, 10, 30, 100, 300]) {
    if (t * 1000 > max * 1.5) break;
    const xx = x(t * 1000).toFixed(1);
    parts.push(`<line x1="${xx}" y1="${top - 6}" x2="${xx}" y2="${H - 40}" stroke="#ddd"/>`, `<text x="${xx}" y="${H - 26}" text-anchor="middle" fill="#555">${t} s</text>`);
  }
  groups.forEach((g, gi) => {
    const y0 = top + gi * (3 * barH + gap);
    parts.push(`<text x="${left - 8}" y="${y0 + 1.5 * barH + 4}" text-anchor="end" font-weight="bold">${esc(g.label)}</text>`);
    g.bars.forEach((b, bi) => {
      const y = y0 + bi * barH;
      const w = Math.max(1, x(b.ms) - left);
      parts.push(
        `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${barH - 4}" fill="${colors[b.stack]}"/>`,
        `<text x="${(left + w + 4).toFixed(1)}" y="${y + barH - 5}">${esc(`${b.stack} ${(b.ms / 1000).toFixed(1)} s${b.ok === false ? ' (incomplete)' : ''}`)}</text>`,
      );
    });
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
