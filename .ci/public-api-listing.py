#!/usr/bin/env python3
"""Prints the public API of a crate from its rustdoc JSON, one item a line.

Usage: public-api-listing.py target/doc/rpc_core.json > .ci/api/rpc_core.txt

The listing names every public item by its shortest public path, with its
signature: functions and methods with their generics, arguments and return
type; struct fields, enum variants, trait items; the traits each type
implements (auto traits such as Send and Sync included, blanket impls left
out). Lines are sorted, so a diff shows exactly what changed. It renders
what the JSON holds and nothing it cannot read: an unknown shape prints as
`?<kind>` rather than failing, so that a newer rustdoc shows in the diff.
"""

import json
import re
import sys
from collections import deque


def main():
    doc = json.load(open(sys.argv[1]))
    lines = Listing(doc).run()
    # Grouped by item, so that a type's fields, methods and impls sit under it.
    sys.stdout.write("".join(text + "\n" for _, _, text in sorted(set(lines))))


class Listing:
    def __init__(self, doc):
        self.doc = doc
        self.index = doc["index"]
        self.paths = doc["paths"]
        self.lines = []
        self.current = ""
        self.public_paths = {}

    def emit(self, text):
        # The item's own line first, then its fields, variants, methods, impls.
        declaration = re.match(
            r"(#\[\w+\] )*pub (unsafe |auto |const |async )*(struct|enum|union|trait|type|const|static|mod|macro|proc_macro \w+|fn) "
            + re.escape(self.current) + r"(\W|$)",
            text,
        )
        member = re.search(re.escape(self.current) + r"(<[^>]*>+)?::", text)
        self.lines.append((self.current, 0 if declaration and not member else 1, text))

    def item(self, id):
        return self.index.get(str(id))

    # Walk the modules breadth first, so each item is listed under its
    # shortest public path; further paths to it are listed as re-exports.
    def run(self):
        self.walk(render=False)
        self.lines = []
        return self.walk(render=True)

    def walk(self, render):
        root = self.item(self.doc["root"])
        seen = {}
        queue = deque([(root, root["name"])])
        while queue:
            item, path = queue.popleft()
            self.current = path
            if item["id"] in seen:
                self.emit(f"pub use {path} = {seen[item['id']]}")
                continue
            seen[item["id"]] = path
            self.public_paths[str(item["id"])] = path
            kind, inner = one(item["inner"])
            if kind == "module":
                if path != root["name"]:
                    self.emit(f"pub mod {path}")
                for child in sorted(inner["items"], key=lambda i: self.sort_key(i)):
                    child_item = self.item(child)
                    if child_item is None or not self.public(child_item):
                        continue
                    ckind, cinner = one(child_item["inner"])
                    if ckind == "use":
                        self.reexport(child_item, cinner, path, queue)
                    elif ckind != "impl":
                        queue.append((child_item, f"{path}::{child_item['name']}"))
            elif render:
                self.describe(item, kind, inner, path)
        return self.lines

    def sort_key(self, id):
        item = self.item(id)
        return (item or {}).get("name") or ""

    def public(self, item):
        return item.get("visibility") == "public" or one(item["inner"])[0] == "impl"

    def reexport(self, item, use, path, queue):
        target = self.item(use["id"]) if use.get("id") is not None else None
        if use["is_glob"]:
            if target is not None:
                # A glob of one of this crate's modules: its items appear here.
                _, module = one(target["inner"])
                for child in module.get("items", []):
                    child_item = self.item(child)
                    if child_item is not None and self.public(child_item) and one(child_item["inner"])[0] not in ("impl", "use"):
                        queue.append((child_item, f"{path}::{child_item['name']}"))
            else:
                self.emit(f"pub use {use['source']}::* in {path}")
            return
        name = use["name"]
        if target is not None:
            queue.append((target, f"{path}::{name}"))
        else:
            self.emit(f"pub use {path}::{name} = {use['source']}")

    def describe(self, item, kind, inner, path):
        add = self.emit
        deprecated = " #[deprecated]" if item.get("deprecation") else ""
        attrs = self.attrs(item)
        if kind == "function":
            add(f"{attrs}pub {self.function(item['name'], inner, path.rsplit('::', 1)[0] + '::')}{deprecated}")
        elif kind == "struct":
            generics = self.generics(inner["generics"])
            add(f"{attrs}pub struct {path}{generics[0]}{generics[1]}{deprecated}")
            skind, sinner = one(inner["kind"]) if isinstance(inner["kind"], dict) else (inner["kind"], None)
            if skind == "tuple":
                fields = ", ".join("_" if f is None else self.ty(self.item(f)["inner"]["struct_field"]) for f in sinner)
                add(f"pub struct {path}({fields})")
            elif skind == "plain":
                for f in sinner["fields"]:
                    field = self.item(f)
                    add(f"pub {path}.{field['name']}: {self.ty(field['inner']['struct_field'])}")
                if sinner.get("has_stripped_fields"):
                    add(f"{path}: private fields")
            self.impls(inner.get("impls", []), path)
        elif kind == "enum":
            generics = self.generics(inner["generics"])
            add(f"{attrs}pub enum {path}{generics[0]}{generics[1]}{deprecated}")
            for v in inner["variants"]:
                self.variant(self.item(v), path)
            self.impls(inner.get("impls", []), path)
        elif kind == "union":
            add(f"{attrs}pub union {path}{deprecated}")
            self.impls(inner.get("impls", []), path)
        elif kind == "trait":
            generics = self.generics(inner["generics"])
            bounds = self.bounds(inner.get("bounds", []))
            flags = ("unsafe " if inner.get("is_unsafe") else "") + ("auto " if inner.get("is_auto") else "")
            add(f"{attrs}pub {flags}trait {path}{generics[0]}{': ' + bounds if bounds else ''}{generics[1]}{deprecated}")
            for i in inner["items"]:
                self.trait_item(self.item(i), path)
            for i in inner.get("implementations", []):
                impl = self.item(i)
                if impl is not None:
                    _, imp = one(impl["inner"])
                    if not imp.get("blanket_impl"):
                        add(f"impl {path} for {self.ty(imp['for'])}")
        elif kind == "type_alias":
            generics = self.generics(inner["generics"])
            add(f"{attrs}pub type {path}{generics[0]} = {self.ty(inner['type'])}{generics[1]}{deprecated}")
        elif kind == "constant":
            add(f"pub const {path}: {self.ty(inner['type'])} = {inner['const'].get('expr')}{deprecated}")
        elif kind == "static":
            mutable = "mut " if inner.get("is_mutable") else ""
            add(f"pub static {mutable}{path}: {self.ty(inner['type'])}{deprecated}")
        elif kind == "macro":
            add(f"pub macro {path}!{deprecated}")
        elif kind == "proc_macro":
            helpers = inner.get("helpers") or []
            add(f"pub proc_macro {inner['kind']} {path}{' helpers ' + ', '.join(helpers) if helpers else ''}{deprecated}")
        elif kind == "trait_alias":
            add(f"pub trait {path} = {self.bounds(inner.get('params', []))}")
        else:
            add(f"?{kind} {path}")

    def attrs(self, item):
        out = []
        for a in item.get("attrs", []):
            text = a if isinstance(a, str) else json.dumps(a, sort_keys=True)
            if "non_exhaustive" in text:
                out.append("#[non_exhaustive] ")
            elif "must_use" in text:
                out.append("#[must_use] ")
        return "".join(sorted(set(out)))

    def variant(self, item, path):
        inner = item["inner"]["variant"]
        vkind, vinner = one(inner["kind"]) if isinstance(inner["kind"], dict) else (inner["kind"], None)
        name = f"{path}::{item['name']}"
        if vkind == "tuple":
            fields = ", ".join("_" if f is None else self.ty(self.item(f)["inner"]["struct_field"]) for f in vinner)
            self.emit(f"pub variant {name}({fields})")
        elif vkind == "struct":
            self.emit(f"pub variant {name} {{ .. }}")
            for f in vinner["fields"]:
                field = self.item(f)
                self.emit(f"pub variant {name}.{field['name']}: {self.ty(field['inner']['struct_field'])}")
            if vinner.get("has_stripped_fields"):
                self.emit(f"pub variant {name}: private fields")
        else:
            self.emit(f"pub variant {name}")

    def trait_item(self, item, path):
        kind, inner = one(item["inner"])
        if kind == "function":
            provided = " (provided)" if inner.get("has_body") else ""
            self.emit(f"{self.function(item['name'], inner, path + '::')}{provided}")
        elif kind == "assoc_type":
            bounds = self.bounds(inner.get("bounds", []))
            default = f" = {self.ty(inner['type'])}" if inner.get("type") else ""
            self.emit(f"type {path}::{item['name']}{': ' + bounds if bounds else ''}{default}")
        elif kind == "assoc_const":
            default = f" = {inner['value']}" if inner.get("value") else ""
            self.emit(f"const {path}::{item['name']}: {self.ty(inner['type'])}{default}")
        else:
            self.emit(f"?{kind} {path}::{item['name']}")

    def impls(self, ids, path):
        for i in ids:
            impl = self.item(i)
            if impl is None:
                continue
            _, inner = one(impl["inner"])
            if inner.get("blanket_impl") is not None:
                continue
            generics = self.generics(inner["generics"])
            neg = "!" if inner.get("is_negative") else ""
            unsafe = "unsafe " if inner.get("is_unsafe") else ""
            target = self.ty(inner["for"])
            if inner.get("trait") is None:
                for j in inner["items"]:
                    member = self.item(j)
                    if member is None or member.get("visibility") != "public":
                        continue
                    kind, minner = one(member["inner"])
                    if kind == "function":
                        self.emit(f"pub {self.function(member['name'], minner, target + '::', generics)}")
                    elif kind == "assoc_const":
                        self.emit(f"pub const {path}::{member['name']}: {self.ty(minner['type'])}")
                    else:
                        self.emit(f"?{kind} {path}::{member['name']}")
            else:
                trait = self.path(inner["trait"])
                if trait in ("Freeze", "UnsafeUnpin", "StructuralPartialEq"):
                    continue  # unstable traits users cannot name (the last comes with PartialEq)
                self.emit(f"{unsafe}impl{generics[0]} {neg}{trait} for {target}{generics[1]}")

    def function(self, name, inner, prefix, outer=("", "")):
        header = inner.get("header", {})
        flags = "".join(
            word + " "
            for word, on in (
                ("const", header.get("is_const")),
                ("async", header.get("is_async")),
                ("unsafe", header.get("is_unsafe")),
            )
            if on
        )
        sig = inner["sig"]
        args = ", ".join(self.arg(n, t) for n, t in sig["inputs"])
        output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
        generics = self.generics(inner["generics"])
        where = outer[1] + ", " + generics[1][len(" where "):] if outer[1] and generics[1] else outer[1] or generics[1]
        return f"{flags}fn {prefix}{name}{generics[0]}({args}){output}{where}"

    def arg(self, name, ty):
        if name == "self":
            return self.ty(ty).replace("&Self", "&self").replace("&mut Self", "&mut self") if self.ty(ty) in ("&Self", "&mut Self", "Self") and self.ty(ty) != "Self" else ("self" if self.ty(ty) == "Self" else f"self: {self.ty(ty)}")
        return f"{name}: {self.ty(ty)}"

    def generics(self, generics):
        params = []
        for p in generics.get("params", []):
            kind, inner = one(p["kind"])
            if kind == "lifetime":
                outlives = inner.get("outlives") or []
                params.append(p["name"] + (": " + " + ".join(outlives) if outlives else ""))
            elif kind == "type":
                if inner.get("is_synthetic"):
                    continue  # `impl Trait` arguments, shown in place
                bounds = self.bounds(inner.get("bounds", []))
                default = f" = {self.ty(inner['default'])}" if inner.get("default") else ""
                params.append(p["name"] + (f": {bounds}" if bounds else "") + default)
            elif kind == "const":
                params.append(f"const {p['name']}: {self.ty(inner['type'])}")
        where = []
        for w in generics.get("where_predicates", []):
            kind, inner = one(w)
            if kind == "bound_predicate":
                hrtb = self.hrtb(inner.get("generic_params", []))
                where.append(f"{hrtb}{self.ty(inner['type'])}: {self.bounds(inner['bounds'])}")
            elif kind == "lifetime_predicate":
                where.append(f"{inner['lifetime']}: {' + '.join(inner['outlives'])}")
            elif kind == "eq_predicate":
                where.append(f"{self.ty(inner['lhs'])} == {json.dumps(inner['rhs'], sort_keys=True)}")
        return ("<" + ", ".join(params) + ">" if params else "", " where " + ", ".join(where) if where else "")

    def hrtb(self, params):
        names = [p["name"] for p in params]
        return f"for<{', '.join(names)}> " if names else ""

    def bounds(self, bounds):
        out = []
        for b in bounds:
            kind, inner = one(b) if isinstance(b, dict) else (b, None)
            if kind == "trait_bound":
                modifier = {"maybe": "?", "maybe_const": "~const "}.get(inner.get("modifier"), "")
                out.append(f"{self.hrtb(inner.get('generic_params', []))}{modifier}{self.path(inner['trait'])}")
            elif kind == "outlives":
                out.append(inner)
            elif kind == "use":
                out.append("use<" + ", ".join(json.dumps(x, sort_keys=True) if not isinstance(x, str) else x for x in inner) + ">")
            else:
                out.append(f"?{kind}")
        return " + ".join(out)

    def path(self, path):
        name = path.get("path") or path.get("name")
        full = self.paths.get(str(path.get("id")))
        if not name and full is not None:
            # Newer rustdoc leaves some paths empty (the trait of a
            # qualified path, `<S as Serializer>::Ok`; types named in a
            # macro's expansion): name them from the index.
            name = full["path"][-1]
        if str(path.get("id")) in self.public_paths:
            name = self.public_paths[str(path.get("id"))]
        elif full is not None and full.get("crate_id") == 0:
            name = "::".join(full["path"])
        return (name or "?") + self.args(path.get("args"))

    def args(self, args):
        if not args:
            return ""
        kind, inner = one(args) if isinstance(args, dict) else (args, None)
        if kind == "angle_bracketed":
            parts = []
            for a in inner.get("args", []):
                akind, ainner = one(a) if isinstance(a, dict) else (a, None)
                if akind == "lifetime":
                    parts.append(ainner)
                elif akind == "type":
                    parts.append(self.ty(ainner))
                elif akind == "const":
                    parts.append(str(ainner.get("expr")))
                else:
                    parts.append("_")
            for c in inner.get("constraints", inner.get("bindings", [])):
                bkind, binner = one(c["binding"])
                if bkind == "equality":
                    tkind, tinner = one(binner)
                    value = self.ty(tinner) if tkind == "type" else str(tinner)
                    parts.append(f"{c['name']}{self.args(c.get('args'))} = {value}")
                else:
                    parts.append(f"{c['name']}: {self.bounds(binner)}")
            return "<" + ", ".join(parts) + ">" if parts else ""
        if kind == "parenthesized":
            output = f" -> {self.ty(inner['output'])}" if inner.get("output") else ""
            return "(" + ", ".join(self.ty(t) for t in inner["inputs"]) + ")" + output
        return f"?{kind}"

    def ty(self, ty):
        if ty is None:
            return "()"
        kind, inner = one(ty)
        if kind == "resolved_path":
            return self.path(inner)
        if kind == "generic":
            return inner
        if kind == "primitive":
            return inner
        if kind == "tuple":
            return "(" + ", ".join(self.ty(t) for t in inner) + ("," if len(inner) == 1 else "") + ")"
        if kind == "slice":
            return f"[{self.ty(inner)}]"
        if kind == "array":
            return f"[{self.ty(inner['type'])}; {inner['len']}]"
        if kind == "borrowed_ref":
            lifetime = inner["lifetime"] + " " if inner.get("lifetime") else ""
            mutable = "mut " if inner["is_mutable"] else ""
            return f"&{lifetime}{mutable}{self.ty(inner['type'])}"
        if kind == "raw_pointer":
            return f"*{'mut' if inner['is_mutable'] else 'const'} {self.ty(inner['type'])}"
        if kind == "impl_trait":
            return "impl " + self.bounds(inner)
        if kind == "dyn_trait":
            traits = [self.hrtb(t.get("generic_params", [])) + self.path(t["trait"]) for t in inner["traits"]]
            if inner.get("lifetime"):
                traits.append(inner["lifetime"])
            return "dyn " + " + ".join(traits)
        if kind == "function_pointer":
            sig = inner["sig"]
            output = f" -> {self.ty(sig['output'])}" if sig.get("output") is not None else ""
            return f"{self.hrtb(inner.get('generic_params', []))}fn(" + ", ".join(self.ty(t) for _, t in sig["inputs"]) + ")" + output
        if kind == "qualified_path":
            trait = self.path(inner["trait"]) if inner.get("trait") else ""
            return f"<{self.ty(inner['self_type'])} as {trait}>::{inner['name']}{self.args(inner.get('args'))}"
        if kind == "infer":
            return "_"
        return f"?{kind}"


def one(d):
    """The only key of a one-key dict (rustdoc's enums), and its value."""
    if isinstance(d, str):
        return d, None
    (k, v), = d.items()
    return k, v


if __name__ == "__main__":
    main()
