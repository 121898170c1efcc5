// Show and hide questions and choices as the person answers, without a reload.
//
// The server parses every expression (intake/engine/expressions.py) and puts the tree
// into data attributes; this file only evaluates trees, with the same rules as the
// server's evaluate(). Without JavaScript every question of a page is shown and the
// server ignores answers to questions that turn out to be hidden.
(function () {
  "use strict";

  // A date ("2025-12-31") counts as its days since 1970-01-01, as on the server.
  function dayNumber(t) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(t);
    if (!m) return NaN;
    var y = +m[1], mo = +m[2], d = +m[3];
    var ms = Date.UTC(y, mo - 1, d);
    var back = new Date(ms);
    if (y < 100 || back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
    return Math.round(ms / 86400000);
  }
  function toNumber(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    var t = String(v).trim();
    if (/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t)) return parseFloat(t);
    return dayNumber(t);
  }
  function asDate(v) {
    var days = typeof v === "string" && /^\s*\d{4}-\d{2}-\d{2}\s*$/.test(v) ? dayNumber(v.trim()) : toNumber(v);
    if (!isFinite(days) || Math.abs(days) > 3000000) return null;
    var date = new Date(Math.floor(days) * 86400000);
    return date.getUTCFullYear() >= 1 && date.getUTCFullYear() <= 9999 ? date : null;
  }
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
  function pad(n, width) { var t = String(n); while (t.length < width) t = "0" + t; return t; }
  function isoDate(date) {
    return pad(date.getUTCFullYear(), 4) + "-" + pad(date.getUTCMonth() + 1, 2) + "-" + pad(date.getUTCDate(), 2);
  }
  function formatDate(v, pattern) {
    var date = asDate(v);
    if (!date) return "";
    var codes = {
      Y: pad(date.getUTCFullYear(), 4), y: pad(date.getUTCFullYear() % 100, 2),
      m: pad(date.getUTCMonth() + 1, 2), n: String(date.getUTCMonth() + 1),
      d: pad(date.getUTCDate(), 2), e: String(date.getUTCDate()),
      b: MONTHS[date.getUTCMonth()], a: DAYS[date.getUTCDay()], H: "00", M: "00", S: "00"
    };
    return pattern.replace(/%([YymndebaHMS])/g, function (all, code) { return codes[code]; });
  }
  function toBool(v) {
    if (typeof v === "boolean") return v;
    if (typeof v === "number") return v !== 0 && !isNaN(v);
    return v !== "";
  }
  function toStr(v) {
    if (typeof v === "boolean") return v ? "true" : "false";
    if (typeof v === "number") {
      if (isNaN(v)) return "NaN";
      return Number.isInteger(v) ? String(v) : String(v);
    }
    return v;
  }
  // The values of a multiple-choice answer ("a b c"), split on XML white space.
  function items(v) {
    return toStr(v).split(/[ \t\n\r]+/).filter(Boolean);
  }
  function textOrder(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < x.length && i < y.length; i++) {
      if (x[i] !== y[i]) return x[i].codePointAt(0) - y[i].codePointAt(0);
    }
    return x.length - y.length;
  }
  function compare(op, a, b) {
    if (op === "=" || op === "!=") {
      var eq;
      if (typeof a === "boolean" || typeof b === "boolean") eq = toBool(a) === toBool(b);
      else if (typeof a === "number" || typeof b === "number") eq = toNumber(a) === toNumber(b);
      else eq = a === b;
      return op === "=" ? eq : !eq;
    }
    var x = toNumber(a), y = toNumber(b);
    if (isNaN(x) || isNaN(y)) {
      // Text (e.g. ISO dates) compares by code points, as in Python, not by UTF-16 units.
      if (typeof a === "string" && typeof b === "string" && a && b) { x = textOrder(a, b); y = 0; }
      else return false;
    }
    if (op === "<") return x < y;
    if (op === "<=") return x <= y;
    if (op === ">") return x > y;
    return x >= y;
  }
  function arith(op, a, b) {
    var x = toNumber(a), y = toNumber(b);
    if (op === "+") return x + y;
    if (op === "-") return x - y;
    if (op === "*") return x * y;
    if (y === 0) return NaN;
    if (op === "div") return x / y;
    return x % y;
  }
  function today() {
    var d = new Date();
    var p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
  }

  // lookupAll(name): the answers of a repeat's question, an entry each (of the repeat
  // itself: an item per entry); null for any other name (engine/expressions.py).
  function evaluate(n, lookup, current, names, lookupAll) {
    var ev = function (m) { return evaluate(m, lookup, current, names, lookupAll); };
    switch (n[0]) {
      case "num": case "str": case "bool": return n[1];
      case "ref": return lookup(n[1]);
      case "cur": return current;
      case "name":
        // Own columns only: "constructor" or "toString" must not read Object's.
        return names && Object.prototype.hasOwnProperty.call(names, n[1]) ? String(names[n[1]]) : "";
      case "or": return toBool(ev(n[1])) || toBool(ev(n[2]));
      case "and": return toBool(ev(n[1])) && toBool(ev(n[2]));
      case "cmp": return compare(n[1], ev(n[2]), ev(n[3]));
      case "arith": return arith(n[1], ev(n[2]), ev(n[3]));
      case "neg": return -toNumber(ev(n[1]));
      case "call":
        if (AGGREGATES.indexOf(n[1]) >= 0 && n[2][0][0] === "ref" && lookupAll) {
          var entries = lookupAll(n[2][0][1]);
          if (entries) return aggregate(n[1], entries, n[2].slice(1).map(ev));
        }
        return call(n[1], n[2], ev);
    }
    throw new Error("unknown node " + n[0]);
  }
  var AGGREGATES = ["count", "sum", "min", "max", "indexed-repeat"];
  function aggregate(name, entries, rest) {
    if (name === "count") return entries.length;
    if (name === "indexed-repeat") {
      var at = toNumber(rest[1]);
      if (!isFinite(at) || at < 1 || at > entries.length) return "";
      return entries[Math.trunc(at) - 1];
    }
    var nums = entries.filter(function (e) { return toStr(e) !== ""; }).map(toNumber);
    if (name === "sum") return nums.reduce(function (a, b) { return a + b; }, 0);
    if (!nums.length || nums.some(function (x) { return isNaN(x); })) return NaN;
    return name === "min" ? Math.min.apply(null, nums) : Math.max.apply(null, nums);
  }
  function call(name, args, ev) {
    if (name === "if") return toBool(ev(args[0])) ? ev(args[1]) : ev(args[2]);
    if (name === "today") return today();
    if (name === "position") return NaN;
    var v = args.map(ev);
    switch (name) {
      case "selected": return items(v[0]).indexOf(toStr(v[1])) >= 0;
      case "count-selected": return items(v[0]).length;
      case "string-length": return Array.from(toStr(v[0])).length;
      case "regex":
        try { return new RegExp(toStr(v[1]), "u").test(toStr(v[0])); } catch (e) { return false; }
      case "contains": return toStr(v[0]).indexOf(toStr(v[1])) >= 0;
      case "starts-with": return toStr(v[0]).indexOf(toStr(v[1])) === 0;
      case "number": return toNumber(v[0]);
      case "int": var x = toNumber(v[0]); return isFinite(x) ? Math.trunc(x) : x;
      case "coalesce": return toStr(v[0]) !== "" ? v[0] : v[1];
      case "not": return !toBool(v[0]);
      case "concat": case "string": return v.map(toStr).join("");
      case "substr": return substr(toStr(v[0]), v.slice(1));
      case "format-date": return formatDate(v[0], toStr(v[1]));
      case "date": var day = asDate(v[0]); return day ? isoDate(day) : "";
      case "decimal-date-time": return toNumber(v[0]);
      case "round": return round(toNumber(v[0]), v.length > 1 ? toNumber(v[1]) : 0);
      case "count": return 1;
      case "sum": return toNumber(v[0]);
      case "indexed-repeat": return "";
      case "min": case "max":
        var nums = v.map(toNumber);
        if (nums.some(function (x) { return isNaN(x); })) return NaN;
        return name === "min" ? Math.min.apply(null, nums) : Math.max.apply(null, nums);
    }
    throw new Error("unknown function " + name);
  }

  // As intake/engine/expressions.py: code points, from 0, the end not included.
  function substr(text, bounds) {
    var chars = Array.from(text);
    var length = chars.length;
    var limit = function (value) {
      var x = toNumber(value);
      if (isNaN(x)) return null;
      if (!isFinite(x)) return x > 0 ? length : 0;
      var place = Math.trunc(x);
      return Math.max(0, Math.min(length, place < 0 ? length + place : place));
    };
    var first = limit(bounds[0]);
    var last = bounds.length > 1 ? limit(bounds[1]) : length;
    if (first === null || last === null || last <= first) return "";
    return chars.slice(first, last).join("");
  }
  // XPath's round (halves up), to 0-10 decimal places, in the server's steps.
  function round(x, places) {
    if (isNaN(places)) return NaN;
    if (!isFinite(x)) return x;
    var digits = places > 10 ? 10 : places < 0 ? 0 : Math.trunc(places);
    var factor = Math.pow(10, digits);
    var scaled = x * factor + 0.5;
    if (!isFinite(scaled)) return x;
    return Math.floor(scaled) / factor;
  }

  function rawValue(form, name, asTyped) {
    var els = form.querySelectorAll('[name="' + name + '"]');
    var values = [];
    els.forEach(function (el) {
      if (el.disabled) return;
      if (el.type === "checkbox" || el.type === "radio") {
        if (el.checked) values.push(el.value);
      } else if (el.value !== "") {
        values.push(el.value);
      }
    });
    var text = values.join(" ");
    // A decimal typed with a comma ("450,50") counts as 450.50, as on the server.
    var first = els[0];
    if (!asTyped && first && first.getAttribute("inputmode") === "decimal") {
      var number = text.replace(/\s/g, "").replace(/,/g, ".");
      if (!isNaN(toNumber(number))) return number;
    }
    return text;
  }

  // A repeat's number of entries, as the server reads it (engine/logic.py entry_count).
  function entryCount(value, max) {
    var n = Math.floor(toNumber(value));
    if (isNaN(n)) return 0;
    return Math.max(0, Math.min(max, n));
  }

  function update(form) {
    var hidden = {};
    var lookup = function (name) { return hidden[name] ? "" : rawValue(form, name); };
    var groups = JSON.parse(form.getAttribute("data-repeats") || "{}");
    var lookupAll = function (name) {
      if (!Object.prototype.hasOwnProperty.call(groups, name)) return null;
      var repeat = groups[name][0], count = entryCount(lookup(repeat), groups[name][1]);
      var out = [];
      for (var k = 1; k <= count; k++) out.push(name === repeat ? String(k) : lookup(name + "-" + k));
      return out;
    };
    var ev = function (json, names) { return evaluate(JSON.parse(json), lookup, "", names || null, lookupAll); };
    form.querySelectorAll("[data-field]").forEach(function (q) {
      var name = q.getAttribute("data-field");
      var rel = q.getAttribute("data-relevant");
      var show = true;
      if (rel) {
        try { show = toBool(ev(rel)); } catch (e) { show = true; }
      }
      q.hidden = !show;
      hidden[name] = !show;
      // A calculated value (a hidden input), made from the answers before it.
      var calc = q.querySelector(":scope > [data-calculate]");
      if (calc) {
        var made = "";
        if (show) {
          try {
            var result = ev(calc.getAttribute("data-calculate"));
            made = typeof result === "number" && isNaN(result) ? "" : toStr(result);  // as the server
          } catch (e) { made = ""; }
          // As the server: at most 10,000 characters (engine/logic.py CALCULATED_MAX).
          if (made.length > 10000) made = Array.from(made).slice(0, 10000).join("");
        }
        calc.value = made;
      }
      var filter = q.getAttribute("data-choice-filter");
      if (filter) {
        var tree = JSON.parse(filter);
        q.querySelectorAll("[data-choice]").forEach(function (opt) {
          var ok = toBool(evaluate(tree, lookup, "", JSON.parse(opt.getAttribute("data-choice")), lookupAll));
          opt.hidden = !ok;
          var input = opt.tagName === "OPTION" ? opt : opt.querySelector("input");
          if (!ok && input) {
            if (opt.tagName === "OPTION") { if (opt.selected) opt.selected = false; opt.disabled = true; }
            else { input.checked = false; }
          } else if (opt.tagName === "OPTION") { opt.disabled = false; }
        });
      }
    });
    // A repeat whose number of entries is calculated shows as many as it now has.
    form.querySelectorAll("[data-repeat]").forEach(layout);
    // A text that inserts an answer ("Wie alt ist ${name}?") shows it as it is typed.
    document.querySelectorAll("[data-insert]").forEach(function (span) {
      var name = span.getAttribute("data-insert");
      span.textContent = hidden[name] ? "" : rawValue(form, name, true);
    });
    // "Send" on the last page due so far becomes "Next" once an answer makes a later
    // page due (the server shows that page after either button).
    var send = form.querySelector("button[data-later]");
    if (send) {
      var due = false;
      try { due = toBool(ev(send.getAttribute("data-later"))); } catch (e) { due = false; }
      send.value = due ? "next" : "send";
      send.textContent = send.getAttribute(due ? "data-next-label" : "data-send-label");
    }
  }

  // Repeats: the entries shown are the first `count`; adding one counts one up (its
  // questions wait hidden on the page), removing one moves the later entries' answers
  // up into its place and empties the last, as the server does without JavaScript
  // (intake/form_pages.py repeat_step).
  function layout(box) {
    var count = box.querySelector("input[data-count]");
    var n = parseInt(count.value, 10) || 0;
    var min = parseInt(box.getAttribute("data-min"), 10), max = parseInt(box.getAttribute("data-max"), 10);
    box.querySelectorAll("fieldset[data-entry]").forEach(function (entry) {
      entry.hidden = parseInt(entry.getAttribute("data-entry"), 10) > n;
      var remove = entry.querySelector("button[data-remove]");
      if (remove) remove.hidden = n <= min;
    });
    var add = box.querySelector("button[data-add]");
    if (add) add.hidden = n >= max;
    return n;
  }
  function inputsOf(entry, number) {
    var out = {};
    entry.querySelectorAll("input[name], select[name], textarea[name]").forEach(function (el) {
      var name = el.name.slice(0, el.name.length - ("-" + number).length);
      (out[name] = out[name] || []).push(el);
    });
    return out;
  }
  function moveAnswers(from, to) {
    // Answers of entry `from` into entry `to` (null: empty `to`).
    var target = inputsOf(to, to.getAttribute("data-entry"));
    var source = from ? inputsOf(from, from.getAttribute("data-entry")) : {};
    Object.keys(target).forEach(function (name) {
      var els = target[name], given = source[name] || [];
      els.forEach(function (el, i) {
        if (el.type === "checkbox" || el.type === "radio") {
          el.checked = given.some(function (g) { return g.value === el.value && g.checked; });
        } else if (el.tagName === "SELECT" && el.multiple) {
          Array.prototype.forEach.call(el.options, function (opt, j) {
            opt.selected = !!(given[i] && given[i].options[j] && given[i].options[j].selected);
          });
        } else {
          el.value = given[i] ? given[i].value : "";
        }
      });
    });
  }
  function repeatClick(form, event) {
    var button = event.target.closest && event.target.closest("button[data-add], button[data-remove]");
    if (!button || !form.contains(button)) return;
    var box = button.closest("[data-repeat]");
    var count = box.querySelector("input[data-count]");
    var n = parseInt(count.value, 10) || 0;
    var entries = Array.prototype.slice.call(box.querySelectorAll("fieldset[data-entry]"));
    event.preventDefault();
    if (button.hasAttribute("data-add")) {
      if (n >= entries.length) return;
      moveAnswers(null, entries[n]);
      count.value = String(n + 1);
      layout(box);
      update(form);
      var first = entries[n].querySelector("input:not([type=hidden]), select, textarea");
      (first || entries[n].querySelector("legend")).focus();
      return;
    }
    var at = parseInt(button.closest("fieldset[data-entry]").getAttribute("data-entry"), 10);
    for (var k = at; k < n; k++) moveAnswers(entries[k], entries[k - 1]);
    moveAnswers(null, entries[n - 1]);
    count.value = String(n - 1);
    layout(box);
    update(form);
    var next = at <= n - 1 ? entries[at - 1].querySelector("legend") : box.querySelector("button[data-add]");
    if (next && !next.hidden) next.focus();
  }

  window.IntakeLogic = { evaluate: evaluate, toBool: toBool };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.public-form").forEach(function (form) {
      form.querySelectorAll("[data-repeat]").forEach(layout);
      form.addEventListener("click", function (event) { repeatClick(form, event); });
      update(form);
      form.addEventListener("input", function () { update(form); });
      form.addEventListener("change", function () { update(form); });
    });
  });
})();
