// Check APL documents with Amazon's APL suggester (the validator behind the APL authoring tool).
// Reads a JSON array of documents on stdin; prints a JSON array with each one's findings.
"use strict";
const { StaticAplTemplateValidator } = require("apl-suggester");

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const documents = JSON.parse(input);
  const validator = new StaticAplTemplateValidator();
  const findings = [];
  for (const document of documents) {
    findings.push(await validator.validate(document));
  }
  process.stdout.write(JSON.stringify(findings));
});
