#!/usr/bin/env python3
"""flatc_interop_test.py - sluice's FlatBuffers runtime against flatc 2.0.8.

Seeded random records (plus hand-written edge cases) are generated from the
.fbs files themselves by a small schema parser below, independent of the C
code, and pushed through these paths:

  A  JSON -> sluice encode (fb frames) -> strip prefix -> flatc --json   == input
  F  as A with `sluice encode --force-defaults`: every field given is printed
  R  as A with `sluice encode --framing raw`, one record per call
  B  JSON -> flatc -b -> sluice decode --framing raw                      == input
  O  JSON -> flatc -b -> flatc --json (the oracle itself; a difference here
     is a bug in this generator/comparison or in flatc, not in sluice)
  S  JSON -> sluice encode -> sluice decode (fb frames)                  == input

"Equal" is equal meaning: a table scalar equal to its default may be present
or absent (except under --force-defaults), enums compare by value, floats to
flatc's printing precision (6 decimals for float, 12 for double; relative for
large magnitudes). The envelope's payload, which flatc prints as a byte array,
is decoded separately with `flatc --root-type sluice.orders.<Table>`.

flatc 2.0.8 defects worked around here, not copied: it is never given
--size-prefixed (it would also unprefix nested_flatbuffer fields and then
print them as {} or crash), so frames are stripped of their length and flatc
-b buffers are passed unprefixed; --json refuses schemas with a vector of
unions, so union_vector.fbs is checked by B and S only; flatc reads binaries
without verifying them (it may crash on a bad buffer), so a failing batch is
retried file by file to name the buffer.

usage: flatc_interop_test.py SLUICE FLATC SRCDIR [--records N] [--seed S]
                             [--keep DIR] [--oracle-only]
env:   SLUICE_INTEROP_RECORDS (default 10000), SLUICE_INTEROP_SEED (default 1)
exit:  0 all equal, 1 differences (the first ones printed), 77 tools missing.
"""

import argparse
import json
import math
import os
import random
import re
import struct
import subprocess
import sys
import tempfile

# ---------------------------------------------------------------- schema model

INT_RANGES = {
    'byte': (-2**7, 2**7 - 1), 'ubyte': (0, 2**8 - 1),
    'short': (-2**15, 2**15 - 1), 'ushort': (0, 2**16 - 1),
    'int': (-2**31, 2**31 - 1), 'uint': (0, 2**32 - 1),
    'long': (-2**63, 2**63 - 1), 'ulong': (0, 2**64 - 1),
}
ALIASES = {'int8': 'byte', 'uint8': 'ubyte', 'int16': 'short', 'uint16': 'ushort',
           'int32': 'int', 'uint32': 'uint', 'int64': 'long', 'uint64': 'ulong',
           'float32': 'float', 'float64': 'double'}
SCALARS = set(INT_RANGES) | {'bool', 'float', 'double'}


class Enum:
    """An enum or a union: ordered (name, value) pairs; unions map names to tables."""

    def __init__(self, fullname, base, is_union, attrs, ns):
        self.fullname, self.base, self.is_union, self.attrs, self.ns = fullname, base, is_union, attrs, ns
        self.bit_flags = 'bit_flags' in attrs
        self.values = []        # [(name, int)]
        self.members = {}       # union: name -> Obj (resolved)

    def by_name(self, name):
        for n, v in self.values:
            if n == name:
                return v
        return None

    def name_of(self, value):
        for n, v in self.values:
            if v == value:
                return n
        return None


class Field:
    def __init__(self, name, type_text, default, attrs):
        self.name, self.type_text, self.default_text, self.attrs = name, type_text, default, attrs
        self.deprecated = 'deprecated' in attrs
        self.required = 'required' in attrs
        self.optional = default == ('id', 'null')
        self.type = None        # resolved, see Schema.resolve_type()
        self.default = None     # Python value (scalars only)


class Obj:
    def __init__(self, fullname, is_struct, attrs, ns):
        self.fullname, self.is_struct, self.attrs, self.ns = fullname, is_struct, attrs, ns
        self.fields = []


TOKEN = re.compile(r'''
    (?P<ws>\s+|//[^\n]*|/\*.*?\*/)
  | (?P<str>"(?:[^"\\]|\\.)*")
  | (?P<num>[-+]?(?:0[xX][0-9a-fA-F]+|(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?))
  | (?P<id>[A-Za-z_][A-Za-z0-9_.]*)
  | (?P<punct>[{}()\[\]:;,=])
''', re.S | re.X)


def tokenize(text, path):
    pos, out = 0, []
    while pos < len(text):
        m = TOKEN.match(text, pos)
        if not m:
            raise SyntaxError('%s: cannot tokenize at %r' % (path, text[pos:pos + 20]))
        pos = m.end()
        if m.lastgroup != 'ws':
            out.append((m.lastgroup, m.group()))
    return out


class Schema:
    """The declarations of one or more .fbs files (enough for our schemas)."""

    def __init__(self):
        self.enums, self.objs, self.roots = {}, {}, []

    def parse_file(self, path):
        with open(path, encoding='utf-8') as f:
            self.toks, self.i, ns = tokenize(f.read(), path), 0, ''
        while self.i < len(self.toks):
            kw = self.next()[1]
            if kw == 'namespace':
                ns = self.next()[1]
                self.expect(';')
            elif kw in ('attribute', 'file_identifier', 'file_extension', 'root_type'):
                arg = self.next()[1]
                self.expect(';')
                if kw == 'root_type':
                    self.roots.append((arg, ns))
            elif kw in ('enum', 'union'):
                self.parse_enum(kw == 'union', ns)
            elif kw in ('struct', 'table'):
                self.parse_obj(kw == 'struct', ns)
            else:
                raise SyntaxError('%s: unsupported declaration %r' % (path, kw))

    def next(self):
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def peek(self):
        return self.toks[self.i][1] if self.i < len(self.toks) else None

    def expect(self, text):
        tok = self.next()
        if tok[1] != text:
            raise SyntaxError('expected %r, got %r' % (text, tok[1]))

    def parse_attrs(self):
        attrs = {}
        if self.peek() != '(':
            return attrs
        self.next()
        while self.peek() != ')':
            name = self.next()[1]
            value = None
            if self.peek() == ':':
                self.next()
                kind, text = self.next()
                value = json.loads(text) if kind == 'str' else text
            attrs[name] = value
            if self.peek() == ',':
                self.next()
        self.next()
        return attrs

    def parse_enum(self, is_union, ns):
        name = self.next()[1]
        base = 'ubyte'
        if self.peek() == ':':
            self.next()
            base = ALIASES.get(self.next()[1], self.toks[self.i - 1][1])
        enum = Enum(qualify(ns, name), base, is_union, self.parse_attrs(), ns)
        self.expect('{')
        nxt = 1 if is_union else 0
        while self.peek() != '}':
            vname = self.next()[1]
            if self.peek() == '=':
                self.next()
                nxt = int(self.next()[1], 0)
            value = (1 << nxt) if enum.bit_flags else nxt
            enum.values.append((vname, value))
            nxt += 1
            if self.peek() == ',':
                self.next()
        self.next()
        if is_union:
            enum.values.insert(0, ('NONE', 0))
        self.enums[enum.fullname] = enum

    def parse_obj(self, is_struct, ns):
        name = self.next()[1]
        obj = Obj(qualify(ns, name), is_struct, self.parse_attrs(), ns)
        self.expect('{')
        while self.peek() != '}':
            fname = self.next()[1]
            self.expect(':')
            ftype = self.parse_type()
            default = None
            if self.peek() == '=':
                self.next()
                default = self.next()
            obj.fields.append(Field(fname, ftype, default, self.parse_attrs()))
            self.expect(';')
        self.next()
        self.objs[obj.fullname] = obj

    def parse_type(self):
        if self.peek() != '[':
            return self.next()[1]
        self.next()
        elem = self.parse_type()
        if self.peek() == ':':
            self.next()
            n = int(self.next()[1])
            self.expect(']')
            return ('array', elem, n)
        self.expect(']')
        return ('vector', elem)

    # ---- resolution (after all files are parsed)

    def lookup(self, name, ns, table):
        parts = ns.split('.') if ns else []
        for k in range(len(parts), -1, -1):
            full = qualify('.'.join(parts[:k]), name)
            if full in table:
                return table[full]
        return None

    def resolve(self):
        for enum in self.enums.values():
            if enum.is_union:
                for vname, _ in enum.values[1:]:
                    enum.members[vname] = self.lookup(vname, enum.ns, self.objs)
        for obj in self.objs.values():
            for f in obj.fields:
                f.type = self.resolve_type(f.type_text, obj.ns)
                if 'nested_flatbuffer' in f.attrs:
                    f.type = ('nested', self.lookup(f.attrs['nested_flatbuffer'], obj.ns, self.objs))
                if obj.fullname == 'sluice.Event' and f.name == 'payload':
                    f.type = ('payload',)
                f.default = self.default_of(f)

    def resolve_type(self, text, ns):
        if isinstance(text, tuple):
            elem = self.resolve_type(text[1], ns)
            return ('array', elem, text[2]) if text[0] == 'array' else ('vector', elem)
        text = ALIASES.get(text, text)
        if text == 'bool':
            return ('bool',)
        if text in INT_RANGES:
            return ('int', text)
        if text in ('float', 'double'):
            return ('float', text)
        if text == 'string':
            return ('string',)
        enum = self.lookup(text, ns, self.enums)
        if enum is not None:
            return ('union', enum) if enum.is_union else ('enum', enum)
        obj = self.lookup(text, ns, self.objs)
        if obj is None:
            raise SyntaxError('unknown type %r' % text)
        return ('struct', obj) if obj.is_struct else ('table', obj)

    @staticmethod
    def default_of(f):
        kind = f.type[0]
        if kind not in ('bool', 'int', 'float', 'enum') or f.optional:
            return None
        tok = f.default_text
        if tok is None:
            return {'bool': False, 'float': 0.0}.get(kind, 0)
        text = json.loads(tok[1]) if tok[0] == 'str' else tok[1]
        if kind == 'bool':
            return text == 'true' or text not in ('false', '0') and bool(int(text))
        if kind == 'float':
            return float(text)
        if kind == 'enum' and not re.match(r'^[-+]?\d', text):
            return enum_value(f.type[1], text)
        return int(text, 0)

    def event_types(self):
        """`type` string -> table, from the (event: "...") attributes."""
        return {o.attrs['event']: o for o in self.objs.values() if 'event' in o.attrs}


def qualify(ns, name):
    return ns + '.' + name if ns and '.' not in name else name


def enum_value(enum, v):
    """Integer value of an enum given by name(s) or number; None if invalid."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v
    if not isinstance(v, str):
        return None
    if enum.bit_flags:
        total = 0
        for part in v.split():
            bit = enum.by_name(part)
            if bit is None:
                return None
            total |= bit
        return total
    return enum.by_name(v)


# ----------------------------------------------------------------- generation

ASCII = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.:/'
SPECIAL = '"\\/\b\f\n\r\t\x00\x01\x1f\x7f'
BMP = 'éüßçñøΩπЖж中文日本語한국어\u00a0\u2028\u2029\ufeff\uffff\u0800'
ASTRAL = '\U0001F600\U0001F4A9\U00010000\U0010FFFF\U0001D11E'


class Gen:
    """Seeded random values for a schema's types."""

    def __init__(self, rng, schema, event_types):
        self.rng, self.schema, self.event_types = rng, schema, event_types

    def string(self):
        r = self.rng
        n = r.choice([0, 1, 3, 8, 8, 16, 40])
        pools = [ASCII] * 6 + [SPECIAL, BMP, ASTRAL]
        return ''.join(r.choice(r.choice(pools)) for _ in range(n))

    def integer(self, base):
        lo, hi = INT_RANGES[base]
        r = self.rng
        pick = r.random()
        if pick < 0.15:
            return r.choice([lo, hi, 0, 1, hi - 1, lo + 1])
        if pick < 0.6:
            return max(lo, min(hi, r.randint(-100, 1000)))
        return r.randint(lo, hi)

    def floating(self, base):
        r = self.rng
        top = 38 if base == 'float' else 307
        pick = r.random()
        if pick < 0.1:
            return r.choice([0.0, -0.0, 1.0, -1.0, 0.5, 1e-7, 123456.75])
        if pick < 0.4:
            return round(r.uniform(-1000, 1000), r.randint(0, 6))
        if pick < 0.7:
            return r.uniform(-1e6, 1e6)
        return r.choice([-1, 1]) * 10 ** r.uniform(-top, top) * 0.99

    def enum(self, enum):
        r = self.rng
        if enum.bit_flags:
            names = [n for n, _ in enum.values if r.random() < 0.4]
            value = 0
            for n in names:
                value |= enum.by_name(n)
            if not names:
                return 0
            return value if r.random() < 0.3 else ' '.join(names)
        name, value = r.choice(enum.values)
        return value if r.random() < 0.2 else name

    def value(self, t, depth):
        kind, r = t[0], self.rng
        if kind == 'bool':
            return r.random() < 0.5
        if kind == 'int':
            return self.integer(t[1])
        if kind == 'float':
            return self.floating(t[1])
        if kind == 'enum':
            return self.enum(t[1])
        if kind == 'string':
            return self.string()
        if kind == 'struct':
            return {f.name: self.value(f.type, depth) for f in t[1].fields}
        if kind in ('table', 'nested'):
            return self.table(t[1], depth + 1)
        if kind == 'array':
            return [self.value(t[1], depth) for _ in range(t[2])]
        if kind == 'vector':
            if t[1][0] == 'table':
                n = r.choice([[0, 1, 2, 3], [0, 1], [0]][min(depth, 2)])
            else:
                n = 0 if depth > 2 else r.choice([0, 1, 2, 3, 5, 8] * 3 + [33])
            return [self.value(t[1], depth) for _ in range(n)]
        raise AssertionError(kind)

    def union(self, enum, depth):
        name, _ = self.rng.choice(enum.values[1:])
        return name, self.table(enum.members[name], depth + 1)

    def table(self, obj, depth=0):
        if obj.fullname == 'sluice.Event':
            return self.event()
        rec, r = {}, self.rng
        for f in obj.fields:
            if f.deprecated or not (f.required or r.random() < 0.55):
                continue
            t = f.type
            if t[0] == 'union':
                name, val = self.union(t[1], depth)
                rec[f.name + '_type'] = name
                rec[f.name] = val
            elif t[0] == 'vector' and t[1][0] == 'union':
                items = [self.union(t[1][1], depth) for _ in range(r.choice([0, 1, 2, 4]))]
                rec[f.name + '_type'] = [n for n, _ in items]
                rec[f.name] = [v for _, v in items]
            else:
                rec[f.name] = self.value(t, depth)
        return shuffled(r, rec) if r.random() < 0.3 else rec

    def event(self):
        r, rec = self.rng, {}
        etype = r.choice(sorted(self.event_types))
        obj = self.schema.objs['sluice.Event']
        for f in obj.fields:
            if f.name == 'payload' or not (f.required or r.random() < 0.7):
                continue
            rec[f.name] = self.value(f.type, 1)
        if r.random() < 0.9:
            rec['type'] = etype
            rec['payload'] = self.table(self.event_types[etype], 1)
        return shuffled(r, rec) if r.random() < 0.3 else rec


def shuffled(rng, rec):
    """Same record, keys in random order, a union's _type kept before its value."""
    keys = [k for k in rec if not (k + '_type' in rec)]
    rng.shuffle(keys)
    out = {}
    for k in keys:
        out[k] = rec[k]
        if k.endswith('_type') and k[:-5] in rec:
            out[k[:-5]] = rec[k[:-5]]
    return out


# ------------------------------------------------------------ JSON writing

# Enum and union member names: flatc 2.0.8 only accepts them unescaped ("an
# initializer of non-string field must be trivial ASCII string").
ENUM_NAMES = set()


def dump_string(s, rng):
    """A JSON string literal with randomly chosen (valid) escape styles."""
    if s and all(part in ENUM_NAMES for part in s.split(' ')):
        return '"' + s + '"'
    out = ['"']
    short = {'\b': 'b', '\f': 'f', '\n': 'n', '\r': 'r', '\t': 't'}
    for c in s:
        o = ord(c)
        if c in '"\\':
            out.append('\\' + c)
        elif c == '/' and rng.random() < 0.5:
            out.append('\\/')
        elif o < 0x20 or rng.random() < 0.1:
            if c in short and rng.random() < 0.5:
                out.append('\\' + short[c])
            elif o > 0xffff:
                o -= 0x10000
                out.append(hexesc(0xd800 + (o >> 10), rng) + hexesc(0xdc00 + (o & 0x3ff), rng))
            else:
                out.append(hexesc(o, rng))
        else:
            out.append(c)
    out.append('"')
    return ''.join(out)


def hexesc(o, rng):
    text = '\\u%04x' % o
    return text.upper().replace('\\U', '\\u') if rng.random() < 0.5 else text


def dump(v, rng):
    if isinstance(v, bool):
        return 'true' if v else 'false'
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15 and rng.random() < 0.3 and str(v) != '-0.0':
            return str(int(v))
        return repr(v)
    if isinstance(v, str):
        return dump_string(v, rng)
    sep = rng.choice([',', ', '])
    if isinstance(v, list):
        return '[' + sep.join(dump(x, rng) for x in v) + ']'
    colon = rng.choice([':', ': '])
    return '{' + sep.join(dump_string(k, rng) + colon + dump(x, rng) for k, x in v.items()) + '}'


def parse_json(text):
    """Strict JSON: no NaN/Infinity, no duplicate keys."""
    def no_const(c):
        raise ValueError('non-JSON constant ' + c)

    def no_dups(pairs):
        d = {}
        for k, v in pairs:
            if k in d:
                raise ValueError('duplicate key %r' % k)
            d[k] = v
        return d
    def number(text):
        return -0.0 if text == '-0' else int(text)  # "-0" is JSON for a negative zero
    return json.loads(text, parse_constant=no_const, object_pairs_hook=no_dups, parse_int=number)


# ---------------------------------------------------------------- comparison

class Ctx:
    """How to compare: force_defaults = every field given must be printed;
    enum_names = a named (non bit_flags) enum value must print as its name."""

    def __init__(self, event_types, force_defaults=False, enum_names=False):
        self.event_types, self.force_defaults, self.enum_names = event_types, force_defaults, enum_names
        self.diffs = []

    def diff(self, path, exp, got, why):
        self.diffs.append((path, exp, got, why))


def f32(x):
    return struct.unpack('<f', struct.pack('<f', x))[0]


def cmp_scalar(t, e, g, path, ctx, signed_zero, got_default=False):
    kind = t[0]
    if kind == 'bool':
        if not isinstance(g, bool) or g != e:
            ctx.diff(path, e, g, 'bool differs')
    elif kind == 'int':
        if isinstance(g, bool) or not isinstance(g, int) or g != e:
            ctx.diff(path, e, g, 'integer differs')
    elif kind == 'enum':
        ev, gv = enum_value(t[1], e), enum_value(t[1], g)
        if gv is None or ev != gv:
            ctx.diff(path, e, g, 'enum differs')
        elif ctx.enum_names and not got_default and not t[1].bit_flags and t[1].name_of(gv) and not isinstance(g, str):
            ctx.diff(path, e, g, 'enum value printed as a number, not its name')
    elif kind == 'float':
        if isinstance(g, bool) or not isinstance(g, (int, float)):
            ctx.diff(path, e, g, 'not a number')
            return
        g = float(g)
        if t[1] == 'float':
            e, tol = f32(e), 1e-6 + abs(e) * 2.0 ** -22
        else:
            tol = 1e-12 + abs(e) * 2.0 ** -50
        if abs(e - g) > tol:
            ctx.diff(path, e, g, '%s differs beyond printing precision' % t[1])
        elif signed_zero and e == 0.0 and math.copysign(1, e) != math.copysign(1, g):
            ctx.diff(path, e, g, 'sign of zero lost')


def cmp_value(t, e, g, path, ctx):
    kind = t[0]
    if kind in ('bool', 'int', 'float', 'enum'):
        cmp_scalar(t, e, g, path, ctx, True)
    elif kind == 'string':
        if g != e:
            ctx.diff(path, e, g, 'string differs')
    elif kind in ('vector', 'array'):
        if not isinstance(g, list) or len(g) != len(e):
            ctx.diff(path, e, g, 'vector/array length or type differs')
            return
        for k, (x, y) in enumerate(zip(e, g)):
            cmp_value(t[1], x, y, '%s[%d]' % (path, k), ctx)
    elif kind == 'struct':
        cmp_struct(t[1], e, g, path, ctx)
    elif kind in ('table', 'nested'):
        cmp_table(t[1], e, g, path, ctx)
    else:
        raise AssertionError(kind)


def cmp_struct(obj, e, g, path, ctx):
    if not isinstance(g, dict) or set(g) != set(e):
        ctx.diff(path, e, g, 'struct fields differ')
        return
    for f in obj.fields:
        cmp_value(f.type, e[f.name], g[f.name], path + '.' + f.name, ctx)


def cmp_union(enum, e_type, e, g_type, g, path, ctx):
    ev, gv = enum_value(enum, e_type), enum_value(enum, g_type)
    if ev != gv:
        ctx.diff(path + '_type', e_type, g_type, 'union type differs')
    elif ev:
        cmp_table(enum.members[enum.name_of(ev)], e, g, path, ctx)
    elif g is not None:
        ctx.diff(path, e, g, 'union value without a type')


def cmp_field(f, e, g, path, ctx):
    t, name, p = f.type, f.name, path + '.' + f.name
    if t[0] == 'union':
        cmp_union(t[1], e.get(name + '_type', 'NONE'), e.get(name),
                  g.get(name + '_type', 'NONE'), g.get(name), p, ctx)
        return
    if t[0] == 'vector' and t[1][0] == 'union':
        et, gt = e.get(name + '_type'), g.get(name + '_type')
        ev, gv = e.get(name), g.get(name)
        if (ev is None) != (gv is None) or ev is not None and (
                not isinstance(gv, list) or not isinstance(gt, list) or len(gv) != len(ev) or len(gt) != len(et)):
            ctx.diff(p, [et, ev], [gt, gv], 'vector of unions differs in presence or length')
            return
        for k in range(len(ev or [])):
            cmp_union(t[1][1], et[k], ev[k], gt[k], gv[k], '%s[%d]' % (p, k), ctx)
        return
    if t[0] in ('bool', 'int', 'float', 'enum') and not f.optional:
        if ctx.force_defaults and name in e and name not in g:
            ctx.diff(p, e[name], None, 'absent although given (--force-defaults)')
        got_default = name not in g
        cmp_scalar(t, e.get(name, f.default), g.get(name, f.default), p, ctx, f.default != 0,
                   got_default)
        return
    if (name in e) != (name in g):
        ctx.diff(p, e.get(name, '<absent>'), g.get(name, '<absent>'), 'presence differs')
    elif name in e:
        if t[0] == 'payload':
            obj = ctx.event_types.get(e.get('type'))
            cmp_table(obj, e[name], g[name], p, ctx)
        else:
            cmp_value(t, e[name], g[name], p, ctx)


def cmp_table(obj, e, g, path, ctx):
    if not isinstance(g, dict):
        ctx.diff(path, e, g, 'not an object')
        return
    known = set()
    for f in obj.fields:
        if f.deprecated:
            known.add(f.name)
            if f.name in g:
                ctx.diff(path + '.' + f.name, None, g[f.name], 'deprecated field printed')
            continue
        known.add(f.name)
        if f.type[0] == 'union' or f.type[0] == 'vector' and f.type[1][0] == 'union':
            known.add(f.name + '_type')
        cmp_field(f, e, g, path, ctx)
    for k in g:
        if k not in known:
            ctx.diff(path + '.' + k, None, g[k], 'unexpected field')


# ------------------------------------------------------------------ pipeline

class Group:
    """Records of one root table of one schema, and how tools name them."""

    def __init__(self, name, fbs, schema_arg, table, flatc_json=True):
        self.name, self.fbs, self.schema_arg, self.table = name, fbs, schema_arg, table
        self.flatc_json = flatc_json
        self.records = []       # [(label, value)]

    def sluice_cmd(self, sluice, verb):
        """`sluice VERB --schema S... --type T`; schema_arg: one or a list of schemas."""
        cmd = [sluice, verb]
        for arg in self.schema_arg if isinstance(self.schema_arg, list) else [self.schema_arg]:
            cmd += ['--schema', arg]
        return cmd + ['--type', self.table]


# When a batch fails, at most this many of its records are retried one by one
# (one process each) to name the failing ones; this bounds the run time.
SINGLES_MAX = 300
NOT_CHECKED = 'not checked: its batch failed and it was past the one-by-one retry limit'


class Runner:
    def __init__(self, args, tmp, schema, event_types):
        self.args, self.tmp, self.schema, self.event_types = args, tmp, schema, event_types
        self.orders_fbs = os.path.join(args.srcdir, 'schemas', 'orders.fbs')
        self.failures = []      # (check, group, label, path, expected, got, why)
        self.counts = {}        # check -> records compared
        self.jrng = random.Random(args.seed + 7)

    def run(self, cmd, data=None, check_rc=True):
        p = subprocess.run(cmd, input=data, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if check_rc and p.returncode != 0:
            raise ToolError(cmd, p)
        return p

    def fail(self, check, group, label, path, exp, got, why):
        self.failures.append((check, group.name, label, path, exp, got, why))

    def jsonl(self, group):
        return ''.join(dump(v, self.jrng) + '\n' for _, v in group.records).encode()

    # ---- flatc helpers

    def flatc_to_json(self, fbs, table, bins, outdir):
        """flatc --json over many buffers; {bin path: parsed JSON or error text}."""
        os.makedirs(outdir, exist_ok=True)
        out = {}
        for k in range(0, len(bins), 1000):
            chunk = bins[k:k + 1000]
            cmd = [self.args.flatc, '--json', '--strict-json', '--raw-binary', '--root-type', table,
                   '-o', outdir, fbs, '--']
            p = self.run(cmd + chunk, check_rc=False)
            if p.returncode != 0:
                for b in chunk:
                    q = self.run(cmd + [b], check_rc=False)
                    if q.returncode != 0:
                        out[b] = 'flatc --json exit %d: %s' % (q.returncode, q.stderr.decode()[-300:])
            for b in chunk:
                if b in out:
                    continue
                jpath = os.path.join(outdir, os.path.basename(b)[:-4] + '.json')
                with open(jpath, encoding='utf-8') as f:
                    out[b] = parse_json(f.read())
        return out

    def flatc_to_bin(self, fbs, table, values, outdir):
        """flatc -b over many JSON records; list of buffer paths (in order)."""
        os.makedirs(outdir, exist_ok=True)
        jsons = []
        for k, v in enumerate(values):
            path = os.path.join(outdir, 'r%06d.json' % k)
            with open(path, 'w', encoding='utf-8') as f:
                f.write(dump(v, self.jrng))
            jsons.append(path)
        for k in range(0, len(jsons), 1000):
            self.run([self.args.flatc, '-b', '--root-type', table, '-o', outdir, fbs] + jsons[k:k + 1000])
        return [j[:-5] + '.bin' for j in jsons]

    def decode_payloads(self, records, outdir):
        """Replace flatc's payload byte arrays by the objects flatc decodes from them."""
        by_type = {}
        for k, rec in enumerate(records):
            if isinstance(rec, dict) and isinstance(rec.get('payload'), list):
                obj = self.event_types.get(rec.get('type'))
                if obj is None:
                    continue
                path = os.path.join(outdir, 'p%06d.bin' % k)
                with open(path, 'wb') as f:
                    f.write(bytes(rec['payload']))
                by_type.setdefault(obj.fullname, []).append((k, path))
        for table, items in by_type.items():
            got = self.flatc_to_json(self.orders_fbs, table, [p for _, p in items],
                                     os.path.join(outdir, 'pj'))
            for k, path in items:
                records[k]['payload'] = got[path]

    # ---- checks

    def compare(self, check, group, gots, force_defaults=False, enum_names=False):
        obj = self.schema.objs[group.table]
        self.counts[check] = self.counts.get(check, 0) + len(group.records)
        if len(gots) != len(group.records):
            self.fail(check, group, '*', '', len(group.records), len(gots), 'record count differs')
        for (label, exp), got in zip(group.records, gots):
            if isinstance(got, str):
                self.fail(check, group, label, '', exp, got, 'no output: ' + error_kind(got))
                continue
            ctx = Ctx(self.event_types, force_defaults, enum_names)
            cmp_table(obj, exp, got, '$', ctx)
            for d in ctx.diffs:
                self.fail(check, group, label, *d)

    def encode(self, group, extra=()):
        """sluice encode (fb frames): one frame per record, or an error text for
        a record it rejects (then each record is encoded on its own)."""
        cmd = group.sluice_cmd(self.args.sluice, 'encode')
        cmd += list(extra)
        p = self.run(cmd, self.jsonl(group), check_rc=False)
        if p.returncode == 0:
            frames = split_frames(p.stdout)
            if not isinstance(frames, str) and len(frames) == len(group.records):
                return frames
            self.fail('encode', group, '*', '', len(group.records), frames, 'bad frame stream')
        else:
            # Rejected lines are named on stderr as stdin:LINE:COL; the rest are framed in order.
            errors = errors_by_key(p.stderr, r'^sluice encode: stdin:(\d+):', int)
            frames = split_frames(p.stdout)
            keys = list(range(1, len(group.records) + 1))
            aligned = align(keys, errors, frames, 'sluice encode exit %d: ' % p.returncode)
            if aligned is not None:
                return aligned
        out = []
        for k, (label, v) in enumerate(group.records):
            if k >= SINGLES_MAX:
                out.append(NOT_CHECKED)
                continue
            q = self.run(cmd, (dump(v, self.jrng) + '\n').encode(), check_rc=False)
            frames = split_frames(q.stdout)
            if q.returncode == 0 and not isinstance(frames, str) and len(frames) == 1:
                out.append(frames[0])
            else:
                out.append('sluice encode exit %d: %s' % (q.returncode, q.stderr.decode()[-300:]))
        return out

    def check_sluice_to_flatc(self, group, check, extra):
        """Check A (or F): sluice's frames, unprefixed, printed by flatc."""
        frames = self.encode(group, extra)
        if not group.flatc_json:
            return frames
        outdir = os.path.join(self.tmp, check, group.name)
        os.makedirs(outdir, exist_ok=True)
        bins = []
        for k, frame in enumerate(frames):
            if isinstance(frame, bytes):
                bins.append(os.path.join(outdir, 'r%06d.bin' % k))
                with open(bins[-1], 'wb') as f:
                    f.write(frame[4:])
        got = self.flatc_to_json(group.fbs, group.table, bins, os.path.join(outdir, 'json'))
        gots, it = [], iter(bins)
        for frame in frames:
            gots.append(got[next(it)] if isinstance(frame, bytes) else frame)
        self.decode_payloads(gots, outdir)
        self.compare(check, group, gots, force_defaults=bool(extra))
        return frames

    def check_raw_encode(self, group, n):
        """Check R: `sluice encode --framing raw`, one record per call, printed by flatc."""
        outdir = os.path.join(self.tmp, 'R', group.name)
        os.makedirs(outdir, exist_ok=True)
        cmd = group.sluice_cmd(self.args.sluice, 'encode') + ['--framing', 'raw']
        bins, gots = [], []
        for k, (label, v) in enumerate(group.records[:n]):
            q = self.run(cmd, (dump(v, self.jrng) + '\n').encode(), check_rc=False)
            if q.returncode != 0:
                gots.append('sluice encode exit %d: %s' % (q.returncode, q.stderr.decode()[-300:]))
                continue
            bins.append(os.path.join(outdir, 'r%06d.bin' % k))
            gots.append(bins[-1])
            with open(bins[-1], 'wb') as f:
                f.write(q.stdout)
        got = self.flatc_to_json(group.fbs, group.table, bins, os.path.join(outdir, 'json'))
        gots = [got[x] if x in got else x for x in gots]
        self.decode_payloads(gots, outdir)
        self.compare('R', subgroup(group, group.records[:n]), gots)

    def check_sluice_roundtrip(self, group, frames):
        """Check S: sluice's own frames through `sluice decode` (fb framing)."""
        good = [k for k, fr in enumerate(frames) if isinstance(fr, bytes)]
        decoded = iter(self.decode(group, [], [b''.join(frames[k] for k in good)],
                                   [frames[k] for k in good]))
        gots = [next(decoded) if isinstance(fr, bytes) else fr for fr in frames]
        self.compare('S', group, gots, enum_names=True)

    def decode(self, group, extra, inputs, singles, files=False):
        """sluice decode; one parsed line per record. On failure, each record is
        decoded alone (singles: a frame, or a file path) to name the rejected ones."""
        cmd = group.sluice_cmd(self.args.sluice, 'decode')
        cmd += extra
        p = self.run(cmd + (inputs if files else []), None if files else inputs[0], check_rc=False)
        gots = parse_lines(p.stdout)
        if p.returncode == 0 and len(gots) == len(singles):
            return gots
        # Rejected inputs are named on stderr, by path or by the frame's byte offset;
        # the others are printed in order.
        if files:
            keys = singles
            errors = errors_by_key(p.stderr, r'^sluice decode: (.*?): buffer at byte \d+ rejected', str)
        else:
            keys, pos = [], 0
            for one in singles:
                keys.append(pos)
                pos += len(one)
            errors = errors_by_key(p.stderr, r'^sluice decode: stdin: buffer at byte (\d+) rejected',
                                   int)
        aligned = align(keys, errors, gots, 'sluice decode exit %d: ' % p.returncode)
        if aligned is not None:
            return aligned
        gots = []
        for k, one in enumerate(singles):
            if k >= SINGLES_MAX:
                gots.append(NOT_CHECKED)
                continue
            q = self.run(cmd + ([one] if files else []), None if files else one, check_rc=False)
            lines = parse_lines(q.stdout)
            if q.returncode == 0 and len(lines) == 1:
                gots.append(lines[0])
            else:
                gots.append('sluice decode exit %d: %s' % (q.returncode, q.stderr.decode()[-300:]))
        return gots

    def flatc_buffers(self, group):
        """Group records as flatc -b buffers (event payloads built first)."""
        outdir = os.path.join(self.tmp, 'B', group.name)
        values = [v for _, v in group.records]
        if group.table == 'sluice.Event':
            values = self.flatc_payloads(values, outdir)
        return self.flatc_to_bin(group.fbs, group.table, values, outdir)

    def flatc_payloads(self, values, outdir):
        """Events whose payload object is replaced by flatc -b's bytes for it."""
        by_type = {}
        for k, v in enumerate(values):
            if 'payload' in v:
                by_type.setdefault(self.event_types[v['type']].fullname, []).append(k)
        out = [dict(v) for v in values]
        for table, idx in by_type.items():
            bins = self.flatc_to_bin(self.orders_fbs, table, [values[k]['payload'] for k in idx],
                                     os.path.join(outdir, 'payload', table))
            for k, path in zip(idx, bins):
                with open(path, 'rb') as f:
                    out[k]['payload'] = list(f.read())
        return out

    def check_flatc_to_sluice(self, group, bins):
        """Check B: flatc -b buffers through `sluice decode --framing raw FILE...`."""
        gots = []
        for k in range(0, len(bins), 1000):
            chunk = bins[k:k + 1000]
            gots += self.decode(group, ['--framing', 'raw'], chunk, chunk, files=True)
        self.compare('B', group, gots, enum_names=True)

    def check_oracle(self, group, bins):
        outdir = os.path.join(self.tmp, 'O', group.name)
        got = self.flatc_to_json(group.fbs, group.table, bins, outdir)
        gots = [got[b] for b in bins]
        self.decode_payloads(gots, outdir)
        self.compare('O', group, gots)

    def run_group(self, group):
        bins = self.flatc_buffers(group)
        if group.flatc_json:
            self.check_oracle(group, bins)
        if self.args.oracle_only:
            return
        self.check_flatc_to_sluice(group, bins)
        frames = self.check_sluice_to_flatc(group, 'A', ())
        self.check_sluice_roundtrip(group, frames)
        if group.flatc_json:
            self.check_sluice_to_flatc(subgroup(group, group.records[:300]), 'F',
                                       ('--force-defaults',))
            self.check_raw_encode(group, 8)


def errors_by_key(stderr, pattern, conv):
    """{key: message} for the stderr lines matching pattern (group 1 is the key)."""
    out = {}
    for line in stderr.decode('utf-8', 'replace').splitlines():
        m = re.match(pattern, line)
        if m:
            out.setdefault(conv(m.group(1)), line)
    return out


def align(keys, errors, outputs, prefix):
    """Outputs of the inputs not named in errors, in order, with the error texts
    in the other places; None if the counts do not add up."""
    if not isinstance(outputs, list) or len(outputs) + sum(k in errors for k in keys) != len(keys):
        return None
    it = iter(outputs)
    return [prefix + errors[k] if k in errors else next(it) for k in keys]


def error_kind(text):
    """An error text without paths, numbers and input echo, to group alike errors."""
    text = re.sub(r'/\S+', 'FILE', text.splitlines()[0] if text else '')
    text = re.sub(r'\d+', 'N', text)
    return text[:150]


def subgroup(group, records):
    sub = Group(group.name, group.fbs, group.schema_arg, group.table, group.flatc_json)
    sub.records = records
    return sub


class ToolError(Exception):
    def __init__(self, cmd, p):
        super().__init__('%s exit %d: %s' % (' '.join(cmd[:6]), p.returncode, p.stderr.decode()[-500:]))


def split_frames(stream):
    """The size-prefixed frames of a byte stream (each with its prefix), or an error."""
    frames, pos = [], 0
    while pos < len(stream):
        if pos + 4 > len(stream):
            return 'truncated length at byte %d' % pos
        n = struct.unpack_from('<I', stream, pos)[0]
        if pos + 4 + n > len(stream):
            return 'frame at byte %d claims %d bytes, %d left' % (pos, n, len(stream) - pos - 4)
        frames.append(stream[pos:pos + 4 + n])
        pos += 4 + n
    return frames


def parse_lines(out):
    gots = []
    # Split on LF only: str.splitlines() would also split at U+2028 and others.
    for line in out.decode('utf-8', 'replace').split('\n')[:-1]:
        try:
            gots.append(parse_json(line))
        except ValueError as e:
            gots.append('invalid JSON (%s): %s' % (e, line[:200]))
    return gots


# ---------------------------------------------------------------- edge cases

def edge_scalars():
    """Hand-written Scalars records: limits of every width, defaults, optionals."""
    out = [('min-all', {'name': ''}), ('max-all', {'name': 'x'})]
    for k, f in enumerate(['i8', 'u8', 'i16', 'u16', 'i32', 'u32', 'i64', 'u64']):
        base = {'i8': 'byte', 'u8': 'ubyte', 'i16': 'short', 'u16': 'ushort', 'i32': 'int',
                'u32': 'uint', 'i64': 'long', 'u64': 'ulong'}[f]
        lo, hi = INT_RANGES[base]
        out[0][1][f], out[1][1][f] = lo, hi
    out[0][1].update(di8=-128, du16=0, di32=-2147483648, di64=-2**63, du64=0, b=False)
    out[1][1].update(di8=127, du16=65535, di32=2**31 - 1, di64=2**63 - 1, du64=2**64 - 1, b=True)
    defaults = {'name': 'defaults', 'db': True, 'di8': -7, 'du16': 65535, 'di32': -2147483648,
                'di64': 9223372036854775807, 'du64': 12345678901234, 'df32': 3.5,
                'df64': -0.000125, 'color': 'Blue', 'level': 'Low', 'perms': 0,
                'dperms': 'Read Exec', 'b': False, 'i32': 0, 'f64': 0.0}
    out.append(('defaults-present', defaults))
    out.append(('optionals-zero', {'name': 'o', 'ob': False, 'oi16': 0, 'ou32': 0, 'of64': 0.0,
                                   'ocolor': 'Green'}))
    out.append(('optionals-set', {'name': 'o', 'ob': True, 'oi16': -32768, 'ou32': 4294967295,
                                  'of64': -0.0, 'ocolor': 'Red'}))
    out.append(('neg-zero', {'name': 'z', 'f32': -0.0, 'f64': -0.0, 'df32': -0.0, 'df64': -0.0}))
    out.append(('big-doubles', {'name': 'big', 'f64': 1.7976931348623157e308,
                                'df64': -1e300, 'f32': 3.4028234663852886e38, 'df32': -3e38}))
    out.append(('small-doubles', {'name': 'small', 'f64': 5e-324, 'df64': 2.2250738585072014e-308,
                                  'f32': 1.401298464324817e-45, 'df32': 1e-30, 'of64': -1e-300}))
    out.append(('enum-numbers', {'name': 'n', 'color': -1, 'level': 18446744073709551615,
                                 'perms': 2, 'dperms': 32768 | 16, 'ocolor': 7}))
    out.append(('enum-flags', {'name': 'f', 'perms': 'Read Write Exec Admin', 'dperms': 0,
                               'level': 'Mid'}))
    for k, s in enumerate(['', '\x00', '"\\/', 'a\x00b\x1f\x7f', '\U0001F600\U0010FFFF\U00010000',
                           '\u2028\u2029\ufeff\uffff', 'é' * 300, '/' * 5 + '\\' * 5,
                           '\b\f\n\r\t', '\ud7ff\ue000']):
        out.append(('string-%d' % k, {'name': s}))
    return out


def edge_composite():
    zero3 = {'x': 0.0, 'y': -0.0, 'z': 1e-300}
    mixed_lo = {'a': -128, 'b': -2**63, 'c': -32768, 'kind': 'Area', 'ok': True}
    box = {'min': zero3, 'max': {'x': 1e300, 'y': -1e-5, 'z': 0.1}, 'tag': 255, 'mixed': mixed_lo}
    grid = {'cells': [-2**31, 0, 2**31 - 1], 'corners': [{'x': -0.0, 'y': 1.5}, {'x': 3e38, 'y': -3e38}],
            'weights': [0.1, -1e-12], 'marks': [0, 1, 128, 255]}
    empties = {'name': '', 'i8s': [], 'u8s': [], 'i16s': [], 'u16s': [], 'i32s': [], 'u32s': [],
               'i64s': [], 'u64s': [], 'f32s': [], 'f64s': [], 'bools': [], 'kinds': [],
               'names': [], 'points': [], 'boxes': [], 'children': [], 'inner': {}}
    limits = {'name': 'limits', 'i8s': [-128, 127], 'u8s': [0, 255], 'i16s': [-32768, 32767],
              'u16s': [0, 65535], 'i32s': [-2**31, 2**31 - 1], 'u32s': [0, 2**32 - 1],
              'i64s': [-2**63, 2**63 - 1], 'u64s': [0, 2**64 - 1], 'f32s': [-0.0, 3.4e38, 1e-45],
              'f64s': [-0.0, 1.7976931348623157e308, 5e-324], 'bools': [True, False],
              'kinds': ['Point', 2, 'Line'], 'names': ['', '\x00', '\U0001F600'],
              'count': -1, 'pos': zero3, 'box': box, 'grid': grid}
    out = [('empty-vectors', empties), ('limits', limits),
           ('only-required', {'name': 'r'}),
           ('nested', {'name': 'n', 'inner': {'id': 4294967295, 'label': '\u00e9', 'ratio': 0.5,
                                              'kinds': ['Area']}}),
           ('default-count', {'name': 'c', 'count': -1}),
           ('deep', {'name': 'a', 'children': [{'name': 'b', 'children': [
               {'name': 'c', 'children': [], 'shape_type': 'Circle', 'shape': {}}]}]}),
           ('boxes', {'name': 'b', 'boxes': [box, box], 'points': [{'x': 1, 'y': 2}]})]
    shapes = [('Circle', {'center': {'x': 0.25, 'y': -0.5}, 'radius': 1}),
              ('Circle', {}),
              ('Rect', {'min': {'x': 0, 'y': 0}, 'max': {'x': 1, 'y': 1}, 'label': ''}),
              ('Polygon', {'points': []}),
              ('Polygon', {'points': [{'x': 1, 'y': 2}] * 3, 'closed': False})]
    for k, (tname, val) in enumerate(shapes):
        out.append(('shape-%d' % k, {'name': 's', 'shape_type': tname, 'shape': val}))
    return out


def edge_union_vector():
    return [('empty', {}), ('empty-items', {'name': '', 'items_type': [], 'items': []}),
            ('items', {'name': 'x', 'items_type': ['Note', 'Tally', 'Note'],
                       'items': [{'text': ''}, {'count': 1, 'scores': [-32768, 32767]}, {}]}),
            ('one', {'one_type': 'Tally', 'one': {'count': 0}})]


def edge_events(event_types):
    out = [('no-payload', {'id': '01H', 'version': 1}), ('empty', {}),
           ('limits', {'id': '', 'type': 'order.paid', 'version': 65535, 'key': '\U0001F600',
                       'ts': -2**63, 'correlation_id': '\x00', 'causation_id': '"\\/',
                       'headers': [], 'payload': {'order_id': ''}}),
           ('headers', {'type': 'order.cancelled', 'ts': 2**63 - 1, 'version': 0,
                        'headers': [{'key': ''}, {'key': 'k', 'value': '\u2028'}],
                        'payload': {'order_id': 'o', 'reason': 'timeout'}})]
    for etype in sorted(event_types):
        out.append(('min-' + etype, {'type': etype, 'payload': {'order_id': 'o-1'}}))
    return out


# ---------------------------------------------------------------------- main

def build_groups(args, tmp):
    src = args.srcdir
    test_fbs = lambda n: os.path.join(src, 'tests', 'schemas', n + '.fbs')
    schema = Schema()
    for path in [os.path.join(src, 'schemas', 'event.fbs'), os.path.join(src, 'schemas', 'orders.fbs'),
                 test_fbs('scalars'), test_fbs('composite'), test_fbs('union_vector')]:
        schema.parse_file(path)
    schema.resolve()
    event_types = schema.event_types()
    ENUM_NAMES.update(n for e in schema.enums.values() for n, _ in e.values)

    bfbs = {}
    for n in ('scalars', 'composite', 'union_vector'):
        subprocess.run([args.flatc, '-b', '--schema', '--bfbs-builtins', '-o', tmp, test_fbs(n)],
                       check=True)
        bfbs[n] = os.path.join(tmp, n + '.bfbs')

    groups = [Group('scalars', test_fbs('scalars'), bfbs['scalars'], 'sluice.test.Scalars'),
              Group('composite', test_fbs('composite'), bfbs['composite'], 'sluice.test.Composite'),
              Group('union_vector', test_fbs('union_vector'), bfbs['union_vector'], 'sluice.test.Bag',
                    flatc_json=False),
              # the envelope's payload tables come from the orders schema
              Group('event', os.path.join(src, 'schemas', 'event.fbs'), ['event', 'orders'],
                    'sluice.Event')]
    orders = {o.fullname: Group('orders.' + o.fullname.split('.')[-1],
                                os.path.join(src, 'schemas', 'orders.fbs'), 'orders', o.fullname)
              for o in event_types.values()}

    groups[0].records += edge_scalars()
    groups[1].records += edge_composite()
    groups[2].records += edge_union_vector()
    groups[3].records += edge_events(event_types)

    rng = random.Random(args.seed)
    gen = Gen(rng, schema, event_types)
    weights = [(groups[0], 0.2), (groups[1], 0.25), (groups[2], 0.1), (groups[3], 0.25)]
    for g, w in weights:
        obj = schema.objs[g.table]
        g.records += [('random-%d' % k, gen.table(obj)) for k in range(int(args.records * w))]
    order_objs = sorted(event_types.values(), key=lambda o: o.fullname)
    for k in range(int(args.records * 0.2)):
        obj = rng.choice(order_objs)
        orders[obj.fullname].records.append(('random-%d' % k, gen.table(obj)))
    return schema, event_types, groups + [orders[o.fullname] for o in order_objs]


def report(runner, total):
    for check in sorted(runner.counts):
        print('check %s: %d records compared' % (check, runner.counts[check]))
    if not runner.failures:
        print('no differences (%d records)' % total)
        return 0
    summary = {}
    for f in runner.failures:
        summary[(f[0], f[1], f[6])] = summary.get((f[0], f[1], f[6]), 0) + 1
    print('\n%d differences; by check, group and kind:' % len(runner.failures))
    for (check, group, why), n in sorted(summary.items()):
        print('  %-2s %-28s %5d  %s' % (check, group, n, why))
    print('\nfirst differences:')
    seen = set()
    for check, group, label, path, exp, got, why in runner.failures:
        key = (check, group, why)
        if key in seen:
            continue
        seen.add(key)
        print('  [%s] %s record %s at %s: %s\n      expected %s\n      got      %s'
              % (check, group, label, path, why, short(exp), short(got)))
    return 1


def short(v):
    text = json.dumps(v, ensure_ascii=True) if not isinstance(v, str) else repr(v)
    return text if len(text) < 400 else text[:400] + '...'


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('sluice')
    ap.add_argument('flatc')
    ap.add_argument('srcdir')
    ap.add_argument('--records', type=int,
                    default=int(os.environ.get('SLUICE_INTEROP_RECORDS', '10000')))
    ap.add_argument('--seed', type=int, default=int(os.environ.get('SLUICE_INTEROP_SEED', '1')))
    ap.add_argument('--keep', help='work in this directory and keep it')
    ap.add_argument('--oracle-only', action='store_true',
                    help='check the generator against flatc alone (no sluice)')
    args = ap.parse_args()
    for tool in [args.flatc] + ([] if args.oracle_only else [args.sluice]):
        if not (os.path.isfile(tool) and os.access(tool, os.X_OK)):
            print('SKIP: %s not found' % tool)
            return 77
    shm = '/dev/shm' if os.access('/dev/shm', os.W_OK) else None  # many small files
    with tempfile.TemporaryDirectory(prefix='sluice-interop-', dir=shm) as tmpdir:
        tmp = args.keep or tmpdir
        os.makedirs(tmp, exist_ok=True)
        schema, event_types, groups = build_groups(args, tmp)
        runner = Runner(args, tmp, schema, event_types)
        total = sum(len(g.records) for g in groups)
        print('seed %d, %d records in %d groups' % (args.seed, total, len(groups)))
        try:
            for g in groups:
                runner.run_group(g)
        except ToolError as e:
            print('FAIL: %s' % e)
            return 1
        return report(runner, total)


if __name__ == '__main__':
    sys.exit(main())
