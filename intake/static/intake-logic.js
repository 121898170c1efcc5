// Show and hide questions and choices as the person answers, without a reload.
//
// The server parses every expression (intake/engine/expressions.py) and puts the tree
// into data attributes; this file only evaluates trees, with the same rules as the
// server's evaluate(). Without JavaScript every question of a page is shown and the
// server ignores answers to questions that turn out to be hidden.
(function () {
  "use strict";

  function toNumber(v) {
    if (typeof v === "boolean") return v ? 1 : 0;
    if (typeof v === "number") return v;
    var t = String(v).trim();
    return /^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(t) ? parseFloat(t) : NaN;
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

  function evaluate(n, lookup, current, names) {
    var ev = function (m) { return evaluate(m, lookup, current, names); };
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
      case "call": return call(n[1], n[2], ev);
    }
    throw new Error("unknown node " + n[0]);
  }
  function call(name, args, ev) {
    if (name === "if") return toBool(ev(args[0])) ? ev(args[1]) : ev(args[2]);
    if (name === "today") return today();
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
      case "round": return round(toNumber(v[0]), v.length > 1 ? toNumber(v[1]) : 0);
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
      return Math.max(0, Math.min(length, Math.trunc(x)));
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

  function update(form) {
    var hidden = {};
    var lookup = function (name) { return hidden[name] ? "" : rawValue(form, name); };
    form.querySelectorAll("[data-field]").forEach(function (q) {
      var name = q.getAttribute("data-field");
      var rel = q.getAttribute("data-relevant");
      var show = true;
      if (rel) {
        try { show = toBool(evaluate(JSON.parse(rel), lookup, "", null)); } catch (e) { show = true; }
      }
      q.hidden = !show;
      hidden[name] = !show;
      // A calculated value (a hidden input), made from the answers before it.
      var calc = q.querySelector("[data-calculate]");
      if (calc) {
        var made = "";
        if (show) {
          try { made = toStr(evaluate(JSON.parse(calc.getAttribute("data-calculate")), lookup, "", null)); } catch (e) { made = ""; }
          // As the server: at most 10,000 characters (engine/logic.py CALCULATED_MAX).
          if (made.length > 10000) made = Array.from(made).slice(0, 10000).join("");
        }
        calc.value = made;
      }
      var filter = q.getAttribute("data-choice-filter");
      if (filter) {
        var tree = JSON.parse(filter);
        q.querySelectorAll("[data-choice]").forEach(function (opt) {
          var ok = toBool(evaluate(tree, lookup, "", JSON.parse(opt.getAttribute("data-choice"))));
          opt.hidden = !ok;
          var input = opt.tagName === "OPTION" ? opt : opt.querySelector("input");
          if (!ok && input) {
            if (opt.tagName === "OPTION") { if (opt.selected) opt.selected = false; opt.disabled = true; }
            else { input.checked = false; }
          } else if (opt.tagName === "OPTION") { opt.disabled = false; }
        });
      }
    });
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
      try { due = toBool(evaluate(JSON.parse(send.getAttribute("data-later")), lookup, "", null)); } catch (e) { due = false; }
      send.value = due ? "next" : "send";
      send.textContent = send.getAttribute(due ? "data-next-label" : "data-send-label");
    }
  }

  window.IntakeLogic = { evaluate: evaluate, toBool: toBool };

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.public-form").forEach(function (form) {
      update(form);
      form.addEventListener("input", function () { update(form); });
      form.addEventListener("change", function () { update(form); });
    });
  });
})();
