// A small in-memory DOM for the unit tests of the pages' renderers: elements,
// text, attributes, the form controls' live state (value, checked, selected),
// events that bubble, focus, and querySelector with simple selectors (tag, #id,
// .class, [attr], [attr=value], :checked, :disabled, descendant and child
// combinators, comma lists). Only what the renderers use; no layout.

import { matchesComplex, parseSelectorList } from "./fake_selectors.js";

class FakeNode {
  constructor(doc) {
    this.ownerDocument = doc;
    this.parentNode = null;
    this.childNodes = [];
    this.listeners = new Map();
  }

  get parentElement() {
    return this.parentNode instanceof FakeElement ? this.parentNode : null;
  }

  get textContent() {
    return this.childNodes.map((c) => c.textContent).join("");
  }

  set textContent(value) {
    this.replaceChildren();
    if (value !== "" && value !== null && value !== undefined) {
      this.append(this.ownerDocument.createTextNode(String(value)));
    }
  }

  append(...nodes) {
    for (const node of nodes) {
      this.insertBefore(
        node instanceof FakeNode ? node : this.ownerDocument.createTextNode(String(node)),
        null,
      );
    }
  }

  appendChild(node) {
    return this.insertBefore(node, null);
  }

  insertBefore(node, before) {
    if (node.parentNode) node.remove();
    const at = before ? this.childNodes.indexOf(before) : -1;
    if (at < 0) this.childNodes.push(node);
    else this.childNodes.splice(at, 0, node);
    node.parentNode = this;
    return node;
  }

  replaceChildren(...nodes) {
    for (const child of this.childNodes) child.parentNode = null;
    this.childNodes = [];
    this.append(...nodes);
  }

  remove() {
    if (!this.parentNode) return;
    const siblings = this.parentNode.childNodes;
    siblings.splice(siblings.indexOf(this), 1);
    this.parentNode = null;
  }

  contains(node) {
    for (let n = node; n; n = n.parentNode) if (n === this) return true;
    return false;
  }

  addEventListener(type, fn) {
    if (!this.listeners.has(type)) this.listeners.set(type, []);
    this.listeners.get(type).push(fn);
  }

  removeEventListener(type, fn) {
    const list = this.listeners.get(type) || [];
    const at = list.indexOf(fn);
    if (at >= 0) list.splice(at, 1);
  }

  /** Runs the listeners of `event.type` here and, when it bubbles, on every ancestor. */
  dispatchEvent(event) {
    event.target = this;
    for (let n = this; n; n = event.bubbles ? n.parentNode : null) {
      event.currentTarget = n;
      for (const fn of [...(n.listeners.get(event.type) || [])]) fn.call(n, event);
      if (event.stopped) break;
    }
    return !event.defaultPrevented;
  }
}

class FakeText extends FakeNode {
  constructor(doc, text) {
    super(doc);
    this.data = text;
  }

  get textContent() {
    return this.data;
  }

  set textContent(value) {
    this.data = String(value);
  }
}

class FakeElement extends FakeNode {
  constructor(doc, tag) {
    super(doc);
    this.tagName = tag.toUpperCase();
    this.attributes = new Map();
    this.state = {}; // the live value/checked/selected, once set by a property
    const element = this;
    this.dataset = new Proxy(
      {},
      {
        get: (_, key) => element.getAttribute(`data-${dashed(key)}`) ?? undefined,
        set: (_, key, value) => {
          element.setAttribute(`data-${dashed(key)}`, value);
          return true;
        },
        deleteProperty: (_, key) => {
          element.removeAttribute(`data-${dashed(key)}`);
          return true;
        },
      },
    );
  }

  get children() {
    return this.childNodes.filter((c) => c instanceof FakeElement);
  }

  get isConnected() {
    let n = this;
    while (n.parentNode) n = n.parentNode;
    return n === this.ownerDocument;
  }

  get firstElementChild() {
    return this.children[0] || null;
  }

  get nextElementSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.children;
    return siblings[siblings.indexOf(this) + 1] || null;
  }

  get previousElementSibling() {
    if (!this.parentNode) return null;
    const siblings = this.parentNode.children;
    return siblings[siblings.indexOf(this) - 1] || null;
  }

  setAttribute(name, value) {
    this.attributes.set(name.toLowerCase(), String(value));
  }

  getAttribute(name) {
    const value = this.attributes.get(name.toLowerCase());
    return value === undefined ? null : value;
  }

  hasAttribute(name) {
    return this.attributes.has(name.toLowerCase());
  }

  removeAttribute(name) {
    this.attributes.delete(name.toLowerCase());
  }

  get id() {
    return this.getAttribute("id") || "";
  }

  set id(value) {
    this.setAttribute("id", value);
  }

  get className() {
    return this.getAttribute("class") || "";
  }

  set className(value) {
    this.setAttribute("class", value);
  }

  get classList() {
    const element = this;
    const names = () => element.className.split(/\s+/).filter(Boolean);
    return {
      contains: (name) => names().includes(name),
      add: (...add) => {
        element.className = [...new Set([...names(), ...add])].join(" ");
      },
      remove: (...drop) => {
        element.className = names()
          .filter((n) => !drop.includes(n))
          .join(" ");
      },
      toggle: (name, force) => {
        const on = force === undefined ? !names().includes(name) : force;
        if (on) element.classList.add(name);
        else element.classList.remove(name);
        return on;
      },
    };
  }

  get hidden() {
    return this.hasAttribute("hidden");
  }

  set hidden(value) {
    if (value) this.setAttribute("hidden", "");
    else this.removeAttribute("hidden");
  }

  get disabled() {
    return this.hasAttribute("disabled");
  }

  set disabled(value) {
    if (value) this.setAttribute("disabled", "");
    else this.removeAttribute("disabled");
  }

  get type() {
    return (this.getAttribute("type") || (this.tagName === "BUTTON" ? "submit" : "text")).toLowerCase();
  }

  get name() {
    return this.getAttribute("name") || "";
  }

  get value() {
    switch (this.tagName) {
      case "SELECT": {
        const chosen = this.selectedOption();
        return chosen ? chosen.value : "";
      }
      case "OPTION":
        return this.getAttribute("value") ?? this.textContent;
      case "TEXTAREA":
        return this.state.value ?? this.textContent;
      default:
        return this.state.value ?? this.getAttribute("value") ?? (this.type === "checkbox" || this.type === "radio" ? "on" : "");
    }
  }

  set value(value) {
    if (this.tagName === "SELECT") {
      for (const option of this.findAll("option")) option.state.selected = option.value === String(value);
    } else if (this.tagName === "OPTION") {
      this.setAttribute("value", value);
    } else {
      this.state.value = String(value);
    }
  }

  get options() {
    return this.querySelectorAll("option");
  }

  selectedOption() {
    const options = this.findAll("option");
    const picked = options.filter((o) => o.state.selected === true);
    if (picked.length) return picked[picked.length - 1];
    const marked = options.filter((o) => o.state.selected === undefined && o.hasAttribute("selected"));
    return marked.length ? marked[marked.length - 1] : options[0] || null;
  }

  get selected() {
    const select = this.closest("select");
    return select ? select.selectedOption() === this : Boolean(this.state.selected);
  }

  get checked() {
    return this.state.checked ?? this.hasAttribute("checked");
  }

  set checked(value) {
    this.state.checked = Boolean(value);
    if (value && this.type === "radio" && this.name) {
      let root = this;
      while (root.parentNode) root = root.parentNode;
      for (const other of root.findAll("input[type=radio]")) {
        if (other !== this && other.name === this.name) other.state.checked = false;
      }
    }
  }

  focus() {
    this.ownerDocument.activeElement = this;
  }

  blur() {
    if (this.ownerDocument.activeElement === this) this.ownerDocument.activeElement = null;
  }

  click() {
    if (this.disabled) return;
    if (this.tagName === "INPUT" && (this.type === "checkbox" || this.type === "radio")) {
      this.checked = this.type === "radio" ? true : !this.checked;
      this.dispatchEvent(makeEvent("input"));
      this.dispatchEvent(makeEvent("change"));
    }
    this.dispatchEvent(makeEvent("click"));
  }

  closest(selector) {
    for (let n = this; n instanceof FakeElement; n = n.parentNode) if (n.matches(selector)) return n;
    return null;
  }

  matches(selector) {
    return parseSelectorList(selector).some((complex) => matchesComplex(this, complex));
  }

  querySelectorAll(selector) {
    return new FakeNodeList(this.findAll(selector));
  }

  findAll(selector) {
    const list = parseSelectorList(selector);
    const found = [];
    const walk = (node) => {
      for (const child of node.children) {
        if (list.some((complex) => matchesComplex(child, complex, this))) found.push(child);
        walk(child);
      }
    };
    walk(this);
    return found;
  }

  querySelector(selector) {
    return this.findAll(selector)[0] || null;
  }
}

/** What querySelectorAll returns: indexable and iterable, without the array
 * methods a real NodeList lacks (so a renderer using them fails here too). */
class FakeNodeList {
  constructor(items) {
    items.forEach((item, i) => {
      this[i] = item;
    });
    this.length = items.length;
  }

  item(i) {
    return this[i] ?? null;
  }

  forEach(fn) {
    for (let i = 0; i < this.length; i += 1) fn(this[i], i, this);
  }

  *[Symbol.iterator]() {
    for (let i = 0; i < this.length; i += 1) yield this[i];
  }
}

function dashed(key) {
  return String(key).replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

// ----------------------------------------------------------------------- document

class FakeDocument extends FakeNode {
  constructor() {
    super(null);
    this.ownerDocument = this;
    this.activeElement = null;
    this.body = this.createElement("body");
    this.append(this.body);
  }

  createElement(tag) {
    return new FakeElement(this, tag);
  }

  createTextNode(text) {
    return new FakeText(this, String(text));
  }

  querySelectorAll(selector) {
    return this.body.querySelectorAll(selector);
  }

  querySelector(selector) {
    return this.body.querySelector(selector);
  }

  getElementById(id) {
    return this.body.querySelector(`#${id}`);
  }

  findAll(selector) {
    return this.body.findAll(selector);
  }
}

/** A DOM event as the renderers use it. */
export function makeEvent(type, { bubbles = true, key } = {}) {
  return {
    type,
    bubbles,
    key,
    defaultPrevented: false,
    stopped: false,
    preventDefault() {
      this.defaultPrevented = true;
    },
    stopPropagation() {
      this.stopped = true;
    },
  };
}

/** Install a fresh fake `document` (and `Node`, `HTMLElement`) as globals; returns it. */
export function installFakeDom() {
  const doc = new FakeDocument();
  globalThis.document = doc;
  globalThis.Node = FakeNode;
  globalThis.HTMLElement = FakeElement;
  return doc;
}

/** Type `text` into a text field or textarea (the value changes, `input` fires). */
export function typeInto(field, text) {
  field.value = text;
  field.dispatchEvent(makeEvent("input"));
}

/** Choose the option with `value` in a select (`change` fires). */
export function choose(select, value) {
  select.value = value;
  select.dispatchEvent(makeEvent("input"));
  select.dispatchEvent(makeEvent("change"));
}
