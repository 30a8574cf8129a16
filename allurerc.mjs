// Allure 3 (npm `allure`, pinned in package.json) configuration for `maip-dr report`.
// One self-contained index.html (singleFile) that renders from file:// without network.
// Categories live here: Allure 3 ignores categories.json (kept for Allure 2 users; both come
// from maip_drlib/evidence/allure_meta.py CATEGORIES; keep the names in step).
// History across drills: `maip-dr report` names the reports folder's history file (JSON lines,
// one run per drill: <reports>/.allure-history.jsonl) in MAIP_DR_ALLURE_HISTORY; Allure reads
// the earlier drills' runs from it and appends this one. Unset: no history.
import { defineConfig } from "allure";

const HISTORY = process.env.MAIP_DR_ALLURE_HISTORY;

const CAPABILITY = /\b(CheckFailed|WaitTimeout|WaitFailed|NotFound|AssertionError)\b/;

export default defineConfig({
  name: "MAIP DR drill",
  output: "./allure-report",
  ...(HISTORY ? { historyPath: HISTORY } : {}),
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        reportName: "MAIP DR drill",
        groupBy: ["feature"],
      },
    },
  },
  categories: {
    rules: [
      {
        name: "DR capability failed",
        matchers: { statuses: ["failed", "broken"], message: CAPABILITY },
      },
      {
        name: "suite or environment error",
        matchers: { statuses: ["failed", "broken"] },
      },
    ],
  },
});
