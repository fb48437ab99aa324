// ESLint for the pages' JavaScript (src/quizsession/entrypoints/web/static) and
// its unit tests (tests/js). `npx eslint` from the repository root.
import js from "@eslint/js";
import globals from "globals";

// Rules beyond "recommended" that catch real bugs rather than style.
const bugCatchers = {
  eqeqeq: ["error", "always", { null: "ignore" }],
  "no-implicit-coercion": ["error", { allow: ["!!"] }],
  "no-promise-executor-return": "error",
  "no-self-compare": "error",
  "no-template-curly-in-string": "error",
  "no-unmodified-loop-condition": "error",
  "no-unreachable-loop": "error",
  "no-use-before-define": ["error", { functions: false, classes: false, variables: false }],
  "no-shadow": ["error", { builtinGlobals: false }],
  "no-unused-vars": ["error", { args: "after-used", caughtErrors: "none" }],
  "no-var": "error",
  "prefer-const": "error",
  "require-atomic-updates": "off",
  "array-callback-return": "error",
  "default-case-last": "error",
  "no-constructor-return": "error",
  "no-new-wrappers": "error",
  "no-return-assign": "error",
  "no-sequences": "error",
  "no-throw-literal": "error",
  radix: "error",
};

export default [
  { ignores: ["node_modules/**", ".venv/**", "test-artifacts/**", "build/**", "dist/**"] },
  js.configs.recommended,
  {
    files: ["src/quizsession/entrypoints/web/static/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.browser },
    },
    rules: bugCatchers,
  },
  {
    files: ["tests/js/**/*.js", "eslint.config.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "module",
      globals: { ...globals.node },
    },
    rules: bugCatchers,
  },
];
