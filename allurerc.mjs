// Allure 3 (npm `allure`, pinned in package.json) configuration for `maip-dr report`.
// One self-contained index.html (singleFile) that renders from file:// without network.
// Categories live here: Allure 3 ignores categories.json (kept for Allure 2 users; both come
// from maip_drlib/evidence/allure_meta.py CATEGORIES; keep the names in step).
import { defineConfig } from "allure";

const CAPABILITY = /\b(CheckFailed|WaitTimeout|WaitFailed|NotFound|AssertionError)\b/;

export default defineConfig({
  name: "MAIP DR drill",
  output: "./allure-report",
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
