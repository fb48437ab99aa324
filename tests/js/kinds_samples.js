// Candidate views (QuestionView) of one question of every kind, as the server
// sends them, with an answer of each for the renderers' unit tests.

const base = { section: "test", points: 1, penalty: 0, number: 1, total: 9, grading: "auto" };

export const VIEWS = {
  single: {
    ...base,
    id: "k-single",
    kind: "single",
    text: "2 + 2 = ?",
    choices: [
      { id: "a", text: "3" },
      { id: "b", text: "4" },
      { id: "c", text: "5" },
    ],
  },
  multiple: {
    ...base,
    id: "k-multiple",
    kind: "multiple",
    text: "Which are prime?",
    choices: [
      { id: "a", text: "2" },
      { id: "b", text: "3" },
      { id: "c", text: "4" },
    ],
  },
  true_false: { ...base, id: "k-tf", kind: "true_false", text: "The sky is blue." },
  short_text: { ...base, id: "k-short", kind: "short_text", text: "Capital of France?" },
  numeric: { ...base, id: "k-num", kind: "numeric", text: "Pi to two decimals?" },
  essay: {
    ...base,
    id: "k-essay",
    kind: "essay",
    text: "Explain why the sky is blue.",
    grading: "manual",
    word_limit: 5,
    response_template: "The sky is blue because",
  },
  matching: {
    ...base,
    id: "k-matching",
    kind: "matching",
    text: "Match each country with its capital.",
    items: [
      { id: "fr", text: "France" },
      { id: "de", text: "Germany" },
      { id: "it", text: "Italy" },
    ],
    options: ["Rome", "Madrid", "Paris", "Berlin"],
  },
  ordering: {
    ...base,
    id: "k-ordering",
    kind: "ordering",
    text: "Put these numbers in increasing order.",
    items: [
      { id: "three", text: "3" },
      { id: "one", text: "1" },
      { id: "four", text: "4" },
      { id: "two", text: "2" },
    ],
  },
  cloze: {
    ...base,
    id: "k-cloze",
    kind: "cloze",
    text: "The capital of {{country}} is Paris; 6 x 7 = {{product}}; {{colour}}.",
    gaps: [
      {
        id: "country",
        kind: "choice",
        choices: [
          { id: "fr", text: "France" },
          { id: "es", text: "Spain" },
        ],
      },
      { id: "product", kind: "numeric", choices: null },
      { id: "colour", kind: "short_text", choices: null },
    ],
  },
  description: {
    ...base,
    id: "k-description",
    kind: "description",
    text: "Read the passage below.",
    points: 0,
    number: 0,
    grading: "none",
    images: [{ url: "https://example.org/passage.png", alt: "The passage" }],
  },
};

/** An answer of every kind that takes one (description: none). */
export const ANSWERS = {
  single: "b",
  multiple: ["a", "b"],
  true_false: false,
  short_text: "Paris",
  numeric: 3.14,
  essay: "Rayleigh scattering.\nShort waves scatter more.",
  matching: { fr: "Paris", it: "Rome" },
  ordering: ["one", "two", "three", "four"],
  cloze: { country: "fr", product: 42, colour: "blue" },
};
