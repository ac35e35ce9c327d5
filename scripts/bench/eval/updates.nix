# Sets built by repeated `//`, as library code builds them: a foldl' that
# adds one attribute per step on the right, one that adds it on the left
# (`{ … } // acc`), a set updated in place over and over, and one shrunk a
# name at a time by removeAttrs.
let
  n = 20000;
  ids = builtins.genList (i: i) n;
  right = builtins.foldl' (acc: i: acc // { "r${toString i}" = i; last = i; }) { } ids;
  left = builtins.foldl' (acc: i: { "l${toString i}" = i; first = i; } // acc) { } ids;
  base = builtins.listToAttrs (builtins.genList (i: { name = "b${toString i}"; value = i; }) 5000);
  bumped = builtins.foldl' (acc: i: acc // { "b${toString (i * 7 - i / 5000 * 35000)}" = -i; }) base (builtins.genList (i: i) 5000);
  shrunk = builtins.foldl' (acc: i: builtins.removeAttrs acc [ "b${toString (i * 2)}" ]) base (builtins.genList (i: i) 2000);
in
[
  (builtins.length (builtins.attrNames right)) right.last right.r0 right."r${toString (n - 1)}"
  (builtins.length (builtins.attrNames left)) left.first left.l0
  (builtins.length (builtins.attrNames bumped)) bumped.b7 bumped.b4999
  (builtins.length (builtins.attrNames shrunk)) (shrunk ? b3998) shrunk.b3999
]
