# tsnix: the `derivation` function of the Nix language.
#
# `derivationStrict` (a primop) instantiates the store derivation and
# returns its .drv path and output paths. This wrapper turns that into
# the familiar value: one attribute set per output, all sharing the
# original attributes, each with its own `outPath` and `outputName`,
# `type = "derivation"`, and every output reachable from every other
# (`drv.dev.out`, `drv.all`).
#
# The evaluator loads this file under the name
# «nix-internal»/derivation-internal.nix. Error traces quote its lines,
# and Nix's language tests expect the output attribute set below to be
# written at lines 48-50 exactly as it is, so keep the layout stable.
#
# Laziness matters here: `strict` is only forced when an output path or
# the .drv path is used, so selecting e.g. `name` or `drvAttrs` of a
# derivation never instantiates it.
#
# The first output listed is the one the expression evaluates to, which
# is why `outputs = [ "lib" "out" ]` makes `lib` the default output.
#
# `outputs` defaults to [ "out" ] here as in derivationStrict; an
# explicit value must be a list of strings (derivationStrict also
# accepts a space-separated string, but this wrapper maps over it).
#
# Attributes passed in stay visible unchanged through `drvAttrs`.
#
# (Layout note: keep the line count of this header as it is.)
drvAttrs@{
  outputs ? [ "out" ],
  ...
}:

let

  strict = derivationStrict drvAttrs;

  commonAttrs =
    drvAttrs
    // (builtins.listToAttrs outputsList)
    // {
      all = map (x: x.value) outputsList;
      inherit drvAttrs;
    };

  outputToAttrListElement = outputName: {
    name = outputName;
    value = commonAttrs // {
      outPath = strict.${outputName};
      drvPath = strict.drvPath;
      type = "derivation";
      inherit outputName;
    };
  };

  outputsList = map outputToAttrListElement outputs;

in
(builtins.head outputsList).value
