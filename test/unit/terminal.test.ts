import { assert, describe, it } from "@effect/vitest"
import { renderTrace } from "../../src/cli/render.js"
import { printable } from "../../src/cli/terminal.js"
import { HOSTILE, hostileTrace, UNPRINTABLE_BUT_NEWLINE, withoutColours } from "../support/hostileTrace.js"

describe("the command line's output boundary", () => {
  it("shows every control character as a visible escape", () => {
    assert.strictEqual(printable(HOSTILE.clipboard), "\\x1b]52;c;ZWNobyBwd25lZA==\\x07")
    assert.strictEqual(printable(HOSTILE.title), "\\x1b]0;owned\\x07")
    assert.strictEqual(printable(HOSTILE.clear), "\\x1b[2J")
    assert.strictEqual(printable(HOSTILE.overwrite), "\\rOK  all good")
    assert.strictEqual(printable(HOSTILE.c1), "\\u009b31m")
    assert.strictEqual(printable(HOSTILE.del), "x\\x7fy")
    assert.strictEqual(printable("a\nb\tc\u0000d"), "a\\nb\\tc\\x00d")
    for (let code = 0; code < 0xa0; code++) {
      const shown = printable(String.fromCharCode(code))
      if (code >= 0x20 && code < 0x7f) assert.strictEqual(shown, String.fromCharCode(code))
      else assert.match(shown, /^\\(?:x[0-9a-f]{2}|u[0-9a-f]{4}|[nrt])$/, `U+${code.toString(16)}`)
    }
  })

  it("shows bidi controls and invisible characters as escapes, keeps joiners and ordinary text", () => {
    assert.strictEqual(printable(HOSTILE.bidi), "abc\\u202edcba")
    assert.strictEqual(printable(HOSTILE.zeroWidth), "a\\u200bb")
    assert.strictEqual(printable("\u2066x\u2069\u200e\ufeff\u2028"), "\\u2066x\\u2069\\u200e\\ufeff\\u2028")
    const ordinary = "héllo wörld 日本語 👩‍💻 C:\\path ümlaut‌x"
    assert.strictEqual(printable(ordinary), ordinary)
  })

  for (const color of [false, true]) {
    it(`draws a hostile trace without any control but newlines${color ? " and its own colours" : ""}`, () => {
      const text = renderTrace(hostileTrace("0123456789abcdef0123456789abcdef"), { color, source: "a\u001b[2Jb.json" })
      assert.isFalse(UNPRINTABLE_BUT_NEWLINE.test(withoutColours(text)), JSON.stringify(text))
      if (color) assert.match(text, /\u001b\[31m/)
      // the escapes are shown instead
      assert.include(text, "root\\x1b]0;owned\\x07\\x1b[2J")
      assert.include(text, "a\\x1b[2Jb.json")
      assert.include(text, "child\\rOK  all good")
      assert.include(text, "CHAIN\\u009b31m")
      // one row per span: nothing draws a row of its own
      assert.strictEqual(text.trimEnd().split("\n").length, 1 + 1 + 2 + 2)
    })
  }
})
