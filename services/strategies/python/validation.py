"""Upload-time checks of a strategy file: syntax, imports, the entry point; errors carry line numbers."""

import ast
import difflib
import sys

STRATEGY_FILE = "strategy.py"

def defined_names(body, names):
    """Top-level names with the line that defines them (functions first-class)."""
    for node in body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.setdefault(node.name, (node.lineno, isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))))
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for sub in ast.walk(target):
                    if isinstance(sub, ast.Name):
                        names.setdefault(sub.id, (node.lineno, False))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            for alias in node.names:
                names.setdefault(alias.asname or alias.name.split(".")[0], (node.lineno, False))
        elif isinstance(node, (ast.If, ast.Try, ast.With, ast.AsyncWith, ast.For, ast.While)):
            for field in ("body", "orelse", "finalbody"):
                defined_names(getattr(node, field, []) or [], names)
            for handler in getattr(node, "handlers", []) or []:
                defined_names(handler.body, names)
    return names


def allowed_module(name):
    top = name.split(".")[0]
    return top == "campaign_sdk" or top in sys.stdlib_module_names


def validate(code, function):
    if not isinstance(code, str):
        return {"ok": False, "errors": [{"line": None, "message": "code must be a string"}]}
    try:
        compile(code, STRATEGY_FILE, "exec", dont_inherit=True)
        tree = ast.parse(code, filename=STRATEGY_FILE)
    except SyntaxError as exc:
        return {"ok": False, "errors": [{"line": exc.lineno, "message": f"{type(exc).__name__}: {exc.msg}"}]}
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        return {"ok": False, "errors": [{"line": None, "message": f"{type(exc).__name__}: {exc}"}]}
    errors = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if not allowed_module(alias.name):
                    errors.append({"line": node.lineno, "message": f"import of {alias.name!r} is not allowed: only the Python standard library and campaign_sdk are available"})
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                errors.append({"line": node.lineno, "message": "relative imports are not allowed: a strategy is a single file"})
            elif not allowed_module(node.module or ""):
                errors.append({"line": node.lineno, "message": f"import of {node.module!r} is not allowed: only the Python standard library and campaign_sdk are available"})
    names = defined_names(tree.body, {})
    if function not in names:
        functions = sorted((name, line) for name, (line, is_fn) in names.items() if is_fn)
        close = difflib.get_close_matches(function, [n for n, _ in functions], n=1)
        message = f"function {function!r} is not defined"
        if functions:
            message += "; the file defines " + ", ".join(f"{n} (line {line})" for n, line in functions[:10])
        errors.append({"line": names[close[0]][0] if close else None, "message": message})
    elif not names[function][1]:
        errors.append({"line": names[function][0], "message": f"{function!r} is not a function (defined at line {names[function][0]})"})
    errors.sort(key=lambda e: (e["line"] is None, e["line"] or 0))
    return {"ok": not errors, "errors": errors}
