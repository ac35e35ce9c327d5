# Big attribute sets: listToAttrs, attrNames, mapAttrs, //, hasAttr, removeAttrs, recursive update.
let
  n = 100000;
  big = builtins.listToAttrs (builtins.genList (i: { name = "a${toString i}"; value = i; }) n);
  doubled = builtins.mapAttrs (k: v: v * 2) big;
  updated = builtins.foldl' (acc: i: acc // { "a${toString i}" = 0; "new${toString i}" = i; }) big (builtins.genList (i: i) 2000);
  names = builtins.attrNames updated;
  present = builtins.length (builtins.filter (k: builtins.hasAttr k big) (builtins.genList (i: "a${toString (i * 3)}") 50000));
  pruned = builtins.removeAttrs big (builtins.genList (i: "a${toString i}") 50000);
  recursiveUpdate = lhs: rhs:
    builtins.mapAttrs (k: v: if builtins.isAttrs v && builtins.isAttrs (lhs.${k} or null) then recursiveUpdate lhs.${k} v else v) rhs
    // builtins.removeAttrs lhs (builtins.attrNames rhs);
  nested = builtins.foldl' (acc: i: recursiveUpdate acc { x.y.${toString (i / 100)}.z = i; }) { } (builtins.genList (i: i) 3000);
in
[ (builtins.length names) doubled.a99999 present (builtins.length (builtins.attrNames pruned)) (builtins.length (builtins.attrNames nested.x.y)) ]
