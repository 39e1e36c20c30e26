// Search and filters of the dataset list, in the browser: text, theme (catalogue class or item)
// and update cycle. The choices are kept in the address (?q=&theme=&cycle=) so a filtered list can
// be linked to; without this script the list simply shows every dataset.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var q = document.getElementById("q");
  var theme = document.getElementById("theme");
  var cycle = document.getElementById("cycle");
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  var items = Array.prototype.slice.call(document.querySelectorAll("#datasets > li.dataset"));

  function matches(item, words, themeCode, cycleName) {
    var t = item.getAttribute("data-theme");
    if (themeCode && t !== themeCode && t.indexOf(themeCode + ".") !== 0) return false;
    if (cycleName && item.getAttribute("data-cycle") !== cycleName) return false;
    var text = item.getAttribute("data-text");
    return words.every(function (w) { return text.indexOf(w) !== -1; });
  }

  function apply() {
    var words = q.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (item) {
      var ok = matches(item, words, theme.value, cycle.value);
      item.hidden = !ok;
      if (ok) shown += 1;
    });
    count.textContent = shown + " of " + items.length + " datasets 个数据集";
    none.hidden = shown !== 0;
    var params = new URLSearchParams();
    if (q.value) params.set("q", q.value);
    if (theme.value) params.set("theme", theme.value);
    if (cycle.value) params.set("cycle", cycle.value);
    var query = params.toString();
    try {
      history.replaceState(null, "", query ? "?" + query : location.pathname);
    } catch (err) {
      // A page opened from the disk may not rewrite its address; the filters work all the same.
    }
  }

  function choose(select, value) {
    var known = Array.prototype.some.call(select.options, function (o) { return o.value === value; });
    select.value = known ? value : "";
  }

  var given = new URLSearchParams(location.search);
  q.value = given.get("q") || "";
  choose(theme, given.get("theme") || "");
  choose(cycle, given.get("cycle") || "");
  form.addEventListener("input", apply);
  form.addEventListener("change", apply);
  apply();
})();
