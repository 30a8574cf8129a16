// Allure 3 (npm `allure`, pinned in package.json) configuration for `maip-dr report`.
// One self-contained index.html (singleFile) that renders from file:// without network.
// Categories live here: Allure 3 ignores categories.json (kept for Allure 2 users; both come
// from maip_drlib/evidence/allure_meta.py CATEGORIES; keep the names in step).
// History across drills: `maip-dr report` names the reports folder's history file (JSON lines,
// one run per drill: <reports>/.allure-history.jsonl) in MAIP_DR_ALLURE_HISTORY; Allure reads
// the earlier drills' runs from it and appends this one. Unset: no history.
// The overview on the home page (maip_drlib/evidence/report_overview.py): `maip-dr report`
// gives the headline figures (verdict, RTO end to end, RPO per store) as JSON in
// MAIP_DR_ALLURE_VARIABLES (report variables; unset or not a JSON object: none); the RTO/RPO
// tables, the DR test record and the timeline come as global attachments in the results.
// Results are grouped by drill phase, in drill order (parentSuite "1. readiness before the
// drill" ... "8. readiness after the drill": maip_drlib/evidence/drill_phases.py).
import { defineConfig } from "allure";

const HISTORY = process.env.MAIP_DR_ALLURE_HISTORY;

const fromJson = (name, fallback, accept) => {
  try {
    const parsed = JSON.parse(process.env[name] || "null");
    return accept(parsed) ? parsed : fallback;
  } catch {
    return fallback;
  }
};
const isObject = (v) => Boolean(v) && typeof v === "object" && !Array.isArray(v);
const VARIABLES = fromJson("MAIP_DR_ALLURE_VARIABLES", {}, isObject);

const CAPABILITY = /\b(CheckFailed|WaitTimeout|WaitFailed|NotFound|AssertionError)\b/;

export default defineConfig({
  name: "MAIP DR drill",
  output: "./allure-report",
  ...(HISTORY ? { historyPath: HISTORY } : {}),
  variables: VARIABLES,
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        reportName: "MAIP DR drill",
        groupBy: ["parentSuite"],
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
