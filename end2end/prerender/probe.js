// The start page of one probe run (see probe.mjs): with `rules=1` it asks
// for a prerender of `to` (what the zones' own speculation rules do on
// hover), then, after `wait` ms, it navigates there as a click would.
const query = new URLSearchParams(location.search);
const to = query.get('to');
if (query.get('rules') === '1') {
  const rules = document.createElement('script');
  rules.type = 'speculationrules';
  rules.textContent = JSON.stringify({
    prerender: [{ source: 'list', urls: [to], eagerness: 'immediate' }],
  });
  document.head.append(rules);
}
setTimeout(() => {
  location.href = to;
}, Number(query.get('wait') ?? 3000));
