// Writes fixtures/canonical/inputs.json: the JSON texts whose canonical form notary's encoder prints
// (scripts/canonical-vectors/main.go). Rerun: node scripts/canonical-inputs.mjs > fixtures/canonical/inputs.json
const v = (name, json) => ({ name, json });
const inputs = [
  v('empty object', '{}'),
  v('scalars', '{"t":true,"f":false,"n":null,"i":0,"neg":-12,"s":""}'),
  v('key order ascii with underscore', '{"version":1,"_type":"Root","expires":"x","Keys":2,"a":3}'),
  v(
    'control characters in strings',
    '{"s":"line\\nbreak\\ttab\\r\\u0000nul\\u001f\\u0008\\u000c"}'
  ),
  v('DEL and C1 controls', '{"s":"\\u007f\\u0080\\u009f"}'),
  v('quote and backslash', '{"s":"a\\"b\\\\c\\/d"}'),
  v('html characters', '{"s":"<script>&amp;</script>","<k>":"&"}'),
  v('line and paragraph separators', '{"s":"\\u2028\\u2029"}'),
  v('non-ASCII raw', '{"s":"é ü 中文 ☃","ключ":"значение"}'),
  v('astral characters in values', '{"s":"\\ud83d\\ude00 😀"}'),
  v('astral vs BMP-private keys', '{"\\ud83d\\ude00":1,"\\uffff":2,"\\ue000":3,"z":4}'),
  v('astral key sort among many', '{"𝄞":1,"ﬀ":2,"a":3,"é":4,"\\u00ff":5}'),
  v('lone surrogate becomes U+FFFD', '{"s":"a\\ud800b","k\\udc00":1}'),
  v('nested arrays', '{"a":[[1,[2,[3,[]]]],{"b":[{"d":1,"c":2}]},[],[null,true]]}'),
  v(
    'big integers',
    '{"a":9007199254740991,"b":9007199254740993,"c":-9007199254740991,"d":1234567890123456789}'
  ),
  v('integral floats and exponents', '{"a":1.0,"b":1e2,"c":-0,"d":1E3,"e":2.5e1}'),
  v('10^21 and up', '{"a":1000000000000000000000}'),
  v('non-integer number', '{"a":1.5}'),
  v('tiny exponent', '{"a":1e-7}'),
  v('duplicate keys last wins', '{"a":1,"a":2}'),
  v('unicode escapes of ASCII', '{"\\u0061":"\\u0062"}'),
  v('top-level array', '[3,1,2]'),
  v('top-level string', '"plain"'),
  v('whitespace is dropped', ' { "b" : [ 1 , 2 ] ,\n "a" : { } } '),
  v(
    'notary timestamp shape',
    '{"_type":"Timestamp","expires":"2026-12-11T05:37:17.246138112Z","meta":{"snapshot":{"hashes":{"sha256":"RwNbHINpfXLtW2ksNm3TGSuGvCXi/t0IN6wvxmT68B8=","sha512":"2O04vFo8Y1QbIy0/wI+k3NCi69kfj1zGxzId6PhF75V5J5jxuZJDRDbojiaeX/PPU1PD0FLL82RUQnfsSzWKNw=="},"length":683}},"version":1}'
  ),
  v(
    'key id object',
    '{"keytype":"ed25519","keyval":{"public":"mN82b09DDRMfdKMDZe5/SArtaiG7+z3x0dljXPYwYYM=","private":null}}'
  ),
  v(
    'target name with controls and html',
    '{"targets":{"v3<&>\\t\\n":{"hashes":{"sha256":"AA=="},"length":1}}}'
  ),
  v(
    'protocol example',
    '{"b":"line\\nbreak\\t<&>\\u2028","a":[1,"é",{"\\ud83d\\ude00":1,"z":2}],"c":null}'
  ),
];
process.stdout.write(JSON.stringify(inputs, null, 2) + '\n');
