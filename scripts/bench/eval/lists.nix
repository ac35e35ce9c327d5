# Long lists: genList, map, filter, foldl', sort, concatLists, elem, length.
let
  n = 200000;
  xs = builtins.genList (i: i * 7919 - (i / 3) * 104729) n;
  evens = builtins.filter (x: x / 2 * 2 == x) xs;
  sum = builtins.foldl' (a: b: a + b) 0 xs;
  sorted = builtins.sort (a: b: a < b) (builtins.genList (i: (i * 7919) - (i / 7) * 65536) 50000);
  chunks = builtins.genList (i: builtins.genList (j: i + j) 20) 10000;
  flat = builtins.concatLists chunks;
  hits = builtins.length (builtins.filter (x: builtins.elem x [ 1 2 3 4 5 6 7 8 9 10 ]) (builtins.genList (i: i) 20000));
in
[ sum (builtins.length evens) (builtins.head sorted) (builtins.length flat) hits ]
