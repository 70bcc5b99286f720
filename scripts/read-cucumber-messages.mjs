// Reads a Cucumber Messages NDJSON file as current Cucumber tooling does (@cucumber/message-streams, @cucumber/query)
// and renders it with Cucumber's HTML formatter: `node scripts/read-cucumber-messages.mjs IN.ndjson OUT.html`.
// Prints what the reader found, one JSON line: test cases, and the most severe step status of each.
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { NdjsonToMessageStream } from '@cucumber/message-streams'
import { CucumberHtmlStream } from '@cucumber/html-formatter'
import { Query } from '@cucumber/query'

const [input, output] = process.argv.slice(2)
if (!input || !output) {
  console.error('usage: node scripts/read-cucumber-messages.mjs IN.ndjson OUT.html')
  process.exit(2)
}
const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)))
const dist = path.join(root, 'node_modules/@cucumber/html-formatter/dist')
const query = new Query()
const parse = new NdjsonToMessageStream()
parse.on('data', (message) => query.update(message))
parse.on('error', (error) => { console.error(`not Cucumber Messages: ${error.message}`); process.exit(1) })
fs.createReadStream(input)
  .pipe(parse)
  .pipe(new CucumberHtmlStream(path.join(dist, 'main.css'), path.join(dist, 'main.js')))
  .pipe(fs.createWriteStream(output))
  .on('finish', () => {
    console.log(JSON.stringify({
      testCases: query.findAllTestCaseStarted().length,
      pickles: query.findAllPickles().length,
      statuses: query.countMostSevereTestStepResultStatus(),
    }))
  })
