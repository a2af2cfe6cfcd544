// Boundaries from docs/design.md §2: one folder owns each external system, lib/ stays
// isomorphic, components/ never reach into server/. Messages say what to use instead.
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const dockerode = {
  name: "dockerode",
  message: "Only server/docker/ talks to Docker. Call its exported functions (environments, exec, images) instead.",
};
const nodePty = {
  name: "node-pty",
  message: "Only server/terminals/ spawns PTYs. Use its terminal session API instead.",
};
const sqlite = [
  { name: "better-sqlite3", message: "Only server/db/ opens SQLite. Use the query functions exported by server/db/ instead." },
];
const sqlitePatterns = [
  { group: ["drizzle-orm", "drizzle-orm/*"], message: "Only server/db/ uses drizzle. Use the query functions exported by server/db/ instead." },
];
const xterm = {
  group: ["@xterm/*"],
  message: "Only components/terminal/ imports xterm.js. Render <Terminal> / <TerminalTabs> from components/terminal instead.",
};
const serverFromClient = {
  group: ["@/server/*", "**/server/*"],
  message: "lib/ and components/ run in the browser too. Move shared code to lib/, or fetch it through an API route / server component.",
};

function restrict(paths, patterns) {
  return { "no-restricted-imports": ["error", { paths, patterns }] };
}

export default tseslint.config(
  { ignores: [".next/**", "node_modules/**", "data/**", "next-env.d.ts", "docker/**", "labs/**", "test-results/**"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "no-restricted-syntax": [
        "error",
        { selector: "ExportDefaultDeclaration", message: "Use named exports (Next.js pages/layouts/configs are the exception)." },
      ],
    },
  },
  // Next.js needs default exports in its special files.
  {
    files: ["app/**/{page,layout,not-found,error,loading,global-error,template}.tsx", "*.config.{ts,js,mjs}", "eslint.config.js"],
    rules: { "no-restricted-syntax": "off" },
  },
  { files: ["**/*.{ts,tsx,js,mjs}"], rules: restrict([dockerode, nodePty, ...sqlite], [xterm, ...sqlitePatterns]) },
  { files: ["server/docker/**"], rules: restrict([nodePty, ...sqlite], [xterm, ...sqlitePatterns]) },
  { files: ["server/terminals/**"], rules: restrict([dockerode, ...sqlite], [xterm, ...sqlitePatterns]) },
  { files: ["server/db/**"], rules: restrict([dockerode, nodePty], [xterm]) },
  { files: ["components/terminal/**"], rules: restrict([dockerode, nodePty, ...sqlite], [serverFromClient, ...sqlitePatterns]) },
  { files: ["lib/**", "components/**/!(terminal)/**", "components/*.{ts,tsx}"], rules: restrict([dockerode, nodePty, ...sqlite], [xterm, serverFromClient, ...sqlitePatterns]) },
  // Tests may set up fixtures directly (e.g. a throwaway container to compare against).
  { files: ["**/*.test.ts", "e2e/**", "bench/**"], rules: { "no-restricted-imports": "off" } },
);
