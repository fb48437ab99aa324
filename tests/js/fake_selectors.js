// The selectors of the fake DOM (fake_dom.js): tag, #id, .class, [attr],
// [attr=value], :checked, :disabled, descendant and child combinators, comma
// lists.

function isElement(node) {
  return Boolean(node) && typeof node.tagName === "string";
}

const COMPOUND = /^([a-zA-Z*][\w-]*)?((?:#[\w-]+|\.[\w-]+|\[[^\]]+\]|:[\w-]+)*)$/;
const PART = /#([\w-]+)|\.([\w-]+)|\[([\w-]+)(?:=("[^"]*"|'[^']*'|[^\]]*))?\]|:([\w-]+)/g;

export function parseSelectorList(selector) {
  return selector.split(",").map((complex) => parseComplex(complex.trim()));
}

/** "div.a > input[type=text] b" -> [{compound, combinator}...] (left to right). */
function parseComplex(text) {
  const tokens = text.replace(/\s*>\s*/g, " > ").split(/\s+/).filter(Boolean);
  const steps = [];
  let combinator = " ";
  for (const token of tokens) {
    if (token === ">") {
      combinator = ">";
      continue;
    }
    steps.push({ compound: parseCompound(token), combinator });
    combinator = " ";
  }
  return steps;
}

function parseCompound(text) {
  const match = COMPOUND.exec(text);
  if (!match) throw new Error(`fake DOM: unsupported selector ${text}`);
  const compound = { tag: match[1] && match[1] !== "*" ? match[1].toUpperCase() : null, parts: [] };
  for (const m of match[2].matchAll(PART)) {
    if (m[1]) compound.parts.push({ attr: "id", value: m[1] });
    else if (m[2]) compound.parts.push({ className: m[2] });
    else if (m[3]) {
      const raw = m[4];
      const value = raw === undefined ? undefined : raw.replace(/^["']|["']$/g, "");
      compound.parts.push({ attr: m[3], value });
    } else if (m[5] === "checked" || m[5] === "disabled") compound.parts.push({ state: m[5] });
    else throw new Error(`fake DOM: unsupported pseudo-class :${m[5]}`);
  }
  return compound;
}

function matchesCompound(node, compound) {
  if (compound.tag && node.tagName !== compound.tag) return false;
  return compound.parts.every((part) => {
    if (part.className) return node.classList.contains(part.className);
    if (part.state) return Boolean(node[part.state]);
    if (!node.hasAttribute(part.attr)) return false;
    return part.value === undefined || node.getAttribute(part.attr) === part.value;
  });
}

export function matchesComplex(node, steps, scope = null) {
  const last = steps.length - 1;
  if (!matchesCompound(node, steps[last].compound)) return false;
  let current = node;
  for (let i = last; i > 0; i -= 1) {
    const { combinator } = steps[i];
    const wanted = steps[i - 1].compound;
    let n = current.parentNode;
    if (combinator === ">") {
      if (!(isElement(n)) || !matchesCompound(n, wanted)) return false;
      current = n;
      continue;
    }
    while (isElement(n) && n !== scope && !matchesCompound(n, wanted)) n = n.parentNode;
    if (!(isElement(n)) || n === scope) return false;
    current = n;
  }
  return true;
}
