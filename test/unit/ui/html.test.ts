import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { escapeHtml, html, joinHtml, SafeHtml } from '../../../src/ui/html.js';

describe('ui html escaping', () => {
  it('escapes the characters that end text, attributes or templates', () => {
    assert.equal(
      escapeHtml(`<a href="x" onclick='y'>&\`</a>`),
      '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;'
    );
  });

  it('escapes every interpolated string, in text and in attributes', () => {
    const gun = 'store.test/"><script>alert(1)</script>';
    const out = html`<a title="${gun}">${gun}</a>`.toString();
    assert.equal(out.includes('<script>'), false);
    assert.equal(out.includes('"><'), false);
    assert.equal(
      out,
      '<a title="store.test/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">store.test/&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</a>'
    );
  });

  it('nests markup made by html without escaping it twice, and escapes arrays item by item', () => {
    const inner = html`<b>${'<i>'}</b>`;
    assert.equal(html`<p>${inner}</p>`.toString(), '<p><b>&lt;i&gt;</b></p>');
    assert.equal(html`${['<', inner, 3]}`.toString(), '&lt;<b>&lt;i&gt;</b>3');
    assert.equal(
      joinHtml(['a&', 'b<'], (s) => html`<li>${s}</li>`).toString(),
      '<li>a&amp;</li><li>b&lt;</li>'
    );
  });

  it('renders nothing for null, undefined and false, and numbers as text', () => {
    assert.equal(html`[${null}${undefined}${false}${0}]`.toString(), '[0]');
  });

  it('does not treat a string that looks like markup, or an object with toString, as safe', () => {
    const fake = { toString: () => '<img src=x onerror=alert(1)>' };
    const out = html`${fake as unknown as string}`.toString();
    assert.equal(out, '&lt;img src=x onerror=alert(1)&gt;');
    assert.ok(html`x` instanceof SafeHtml);
  });
});
