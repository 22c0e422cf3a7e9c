;; Chained xxh64 block keys in one call, so that no bigint crosses the JS/wasm
;; boundary per block. key_i = xxh64(key_{i-1} as u64 LE ‖ tokens_i as u32 LE, seed 0).
;;
;; Layout contract with the JS side: the caller writes the tokens at `tok`
;; (tok >= 8, 8-byte aligned) and asks for `n` blocks of `bs` tokens. Before
;; hashing block b the parent key is stored in the 8 bytes just before the
;; block, overwriting the tail of block b-1, which has already been hashed, so
;; the input is hashed in place with no copy. Keys are written to `out` as u64 LE.
(module
  (memory (export "memory") 1)

  (global $P1 i64 (i64.const 0x9E3779B185EBCA87))
  (global $P2 i64 (i64.const 0xC2B2AE3D27D4EB4F))
  (global $P3 i64 (i64.const 0x165667B19E3779F9))
  (global $P4 i64 (i64.const 0x85EBCA77C2B2AE63))
  (global $P5 i64 (i64.const 0x27D4EB2F165667C5))

  (func $round (param $acc i64) (param $lane i64) (result i64)
    (i64.mul
      (i64.rotl
        (i64.add (local.get $acc) (i64.mul (local.get $lane) (global.get $P2)))
        (i64.const 31))
      (global.get $P1)))

  (func $merge (param $h i64) (param $v i64) (result i64)
    (i64.add
      (i64.mul
        (i64.xor (local.get $h) (call $round (i64.const 0) (local.get $v)))
        (global.get $P1))
      (global.get $P4)))

  (func $xxh64 (export "xxh64") (param $p i32) (param $len i32) (param $seed i64) (result i64)
    (local $end i32) (local $limit i32) (local $h i64)
    (local $v1 i64) (local $v2 i64) (local $v3 i64) (local $v4 i64)
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (if (i32.ge_u (local.get $len) (i32.const 32))
      (then
        (local.set $limit (i32.sub (local.get $end) (i32.const 32)))
        (local.set $v1 (i64.add (i64.add (local.get $seed) (global.get $P1)) (global.get $P2)))
        (local.set $v2 (i64.add (local.get $seed) (global.get $P2)))
        (local.set $v3 (local.get $seed))
        (local.set $v4 (i64.sub (local.get $seed) (global.get $P1)))
        (loop $stripes
          (local.set $v1
            (i64.mul
              (i64.rotl
                (i64.add (local.get $v1) (i64.mul (i64.load (local.get $p)) (global.get $P2)))
                (i64.const 31))
              (global.get $P1)))
          (local.set $v2
            (i64.mul
              (i64.rotl
                (i64.add (local.get $v2) (i64.mul (i64.load offset=8 (local.get $p)) (global.get $P2)))
                (i64.const 31))
              (global.get $P1)))
          (local.set $v3
            (i64.mul
              (i64.rotl
                (i64.add (local.get $v3) (i64.mul (i64.load offset=16 (local.get $p)) (global.get $P2)))
                (i64.const 31))
              (global.get $P1)))
          (local.set $v4
            (i64.mul
              (i64.rotl
                (i64.add (local.get $v4) (i64.mul (i64.load offset=24 (local.get $p)) (global.get $P2)))
                (i64.const 31))
              (global.get $P1)))
          (local.set $p (i32.add (local.get $p) (i32.const 32)))
          (br_if $stripes (i32.le_u (local.get $p) (local.get $limit))))
        (local.set $h
          (i64.add
            (i64.add (i64.rotl (local.get $v1) (i64.const 1)) (i64.rotl (local.get $v2) (i64.const 7)))
            (i64.add (i64.rotl (local.get $v3) (i64.const 12)) (i64.rotl (local.get $v4) (i64.const 18)))))
        (local.set $h (call $merge (local.get $h) (local.get $v1)))
        (local.set $h (call $merge (local.get $h) (local.get $v2)))
        (local.set $h (call $merge (local.get $h) (local.get $v3)))
        (local.set $h (call $merge (local.get $h) (local.get $v4))))
      (else
        (local.set $h (i64.add (local.get $seed) (global.get $P5)))))
    (local.set $h (i64.add (local.get $h) (i64.extend_i32_u (local.get $len))))
    (block $done8
      (loop $lanes8
        (br_if $done8 (i32.gt_u (i32.add (local.get $p) (i32.const 8)) (local.get $end)))
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (call $round (i64.const 0) (i64.load (local.get $p))))
                (i64.const 27))
              (global.get $P1))
            (global.get $P4)))
        (local.set $p (i32.add (local.get $p) (i32.const 8)))
        (br $lanes8)))
    (if (i32.le_u (i32.add (local.get $p) (i32.const 4)) (local.get $end))
      (then
        (local.set $h
          (i64.add
            (i64.mul
              (i64.rotl
                (i64.xor (local.get $h) (i64.mul (i64.load32_u (local.get $p)) (global.get $P1)))
                (i64.const 23))
              (global.get $P2))
            (global.get $P3)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))))
    (block $done1
      (loop $bytes
        (br_if $done1 (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $h
          (i64.mul
            (i64.rotl
              (i64.xor (local.get $h) (i64.mul (i64.load8_u (local.get $p)) (global.get $P5)))
              (i64.const 11))
            (global.get $P1)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $bytes)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 33))) (global.get $P2)))
    (local.set $h (i64.mul (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 29))) (global.get $P3)))
    (i64.xor (local.get $h) (i64.shr_u (local.get $h) (i64.const 32))))

  (func (export "chain") (param $tok i32) (param $n i32) (param $bs i32) (param $parent i64) (param $out i32)
    (local $b i32) (local $at i32) (local $len i32)
    (local.set $len (i32.add (i32.const 8) (i32.shl (local.get $bs) (i32.const 2))))
    (local.set $at (i32.sub (local.get $tok) (i32.const 8)))
    (block $done
      (loop $blocks
        (br_if $done (i32.ge_u (local.get $b) (local.get $n)))
        (i64.store (local.get $at) (local.get $parent))
        (local.set $parent (call $xxh64 (local.get $at) (local.get $len) (i64.const 0)))
        (i64.store (i32.add (local.get $out) (i32.shl (local.get $b) (i32.const 3))) (local.get $parent))
        (local.set $at (i32.add (local.get $at) (i32.sub (local.get $len) (i32.const 8))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br $blocks)))))
