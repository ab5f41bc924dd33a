use super::*;

fn run(text: &str) -> Vec<Outcome> {
    match Runner::from_text(text) {
        Ok(mut r) => r.run_all(),
        Err(e) => panic!("{e:?}"),
    }
}

fn failures(outcomes: &[Outcome]) -> Vec<String> {
    outcomes.iter().filter_map(|o| o.failure.clone()).collect()
}

#[test]
fn parse_reports_every_bad_line_with_its_number() {
    let text = "# c\n\nSET k v\ntick soon\ncrash gently\nrestart now\nconfig appendfsync\nexpect GET k\n=> orphan?\nsay\nSET \"k v\nexpect @nope => 1\n";
    let errs = parse(text).unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    // Line 9 continues line 8's expect, which was refused.
    assert_eq!(lines, [4, 5, 6, 7, 8, 9, 10, 11, 12], "{errs:?}");
    assert!(errs[0].to_string().starts_with("line 4: tick takes milliseconds"), "{}", errs[0]);
    // A continuation right after an expect is fine; after anything else it is not.
    let errs = parse("SET k v\n=> OK").unwrap_err();
    assert_eq!(errs[0].line, 2);
    assert!(parse("expect LRANGE l 0 -1 => 1) \"a\"\n   => 2) \"b\"").is_ok());
}

#[test]
fn parse_never_panics_on_odd_input() {
    for text in ["=>", "expect =>", "expect => x", "tick -1", "tick 99999999999999999999", "config", "@", "\u{0}\u{ff}", "crash", "say  "] {
        let _ = parse(text);
    }
    let _ = Runner::from_text("expect @layers\n");
    // Every step kind runs without panicking even when it makes no sense.
    let out = run("crash kill\nrestart\ncheck-aof\nexpect @crash nonsense => x\nexpect @layers nofile => x\nexpect @info nofield => x\n");
    assert_eq!(out.len(), 6);
}

#[test]
fn commands_and_expects_pass_and_fail_clearly() {
    let out = run(
        "say hello\nSET k v\nexpect GET k => \"v\"\nexpect GET k => \"w\"\nRPUSH l a b\nexpect LRANGE l 0 -1 => 1) \"a\"\n=> 2) \"b\"\n",
    );
    assert_eq!(out[0].kind, "say");
    assert_eq!(out[0].output, ["hello"]);
    assert_eq!(out[1].output, ["OK"]);
    assert_eq!(out[2].passed, Some(true));
    assert_eq!(out[3].passed, Some(false));
    assert_eq!(out[3].failure.as_deref(), Some("line 4: expect GET k: wanted \"w\", got \"v\""));
    assert_eq!(out[5].passed, Some(true), "{:?}", out[5]);
}

#[test]
fn aof_probe_shows_the_propagated_bytes() {
    let out = run("SET k v EX 100\nexpect @aof => *3\\r\\n$3\\r\\nset\\r\\n$1\\r\\nk\\r\\n$1\\r\\nv\\r\\n");
    // The first write of the lab also selects the db; SET EX propagates as SET ... PXAT.
    assert_eq!(out[1].passed, Some(false));
    let got = &out[1].output[0];
    assert!(got.starts_with("*2\\r\\n$6\\r\\nSELECT\\r\\n$1\\r\\n0\\r\\n"), "{got}");
    assert!(got.contains("PXAT\\r\\n$13\\r\\n1700000100000\\r\\n"), "{got}");
}

#[test]
fn tick_makes_everysec_fsync_and_crash_power_keeps_it() {
    let out = run("SET a 1\nexpect @layers appendonly.aof.1.incr.aof => written 50, on disk 50\nSET b 2\n\
         expect @layers appendonly.aof.1.incr.aof => written 77, on disk 50\ntick 1100\n\
         expect @layers appendonly.aof.1.incr.aof => written 77, on disk 77\nSET c 3\nSET d 4\ncrash power\nexpect DBSIZE => (integer) 2\n\
         expect @crash lost_page_cache => 54\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[8].kind, "crash");
    assert!(out[8].output.last().is_some_and(|l| l == "redis-server restarted"), "{:?}", out[8].output);
}

#[test]
fn rewrite_waits_for_the_child_and_swaps_the_manifest() {
    let out = run("config lab-rewrite-keys-per-tick 1\nSET a 1\nSET b 2\nrewrite\nexpect @info aof_rewrites => 1\n\
         expect @files => appendonly.aof.2.base.rdb\n=> appendonly.aof.2.incr.aof\n=> appendonly.aof.manifest\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert!(out[3].output.last().is_some_and(|l| l.starts_with("rewrite done")), "{:?}", out[3].output);
}

#[test]
fn config_while_down_applies_at_restart() {
    let out = run(
        "config aof-load-truncated no\nSET a 1\nSET b 2\ncrash torn\nexpect PING => Could not connect to Redis at 127.0.0.1:6379: Connection refused\n\
         config aof-load-truncated yes\nrestart\nexpect PING => PONG\n",
    );
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[5].output, ["aof-load-truncated yes (for the next start)"]);
}

#[test]
fn json_of_steps_and_outcomes() {
    let mut r = Runner::from_text("say \"hi\"\nexpect GET k => (nil)\npredict \"Which?\" | a | b\n").unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        steps_json(r.steps()),
        concat!(
            r#"[{"line":1,"kind":"say","text":"\"hi\"","sentence":"\"hi\"","script":"say \"hi\""},"#,
            r#"{"line":2,"kind":"expect","text":"GET k => (nil)","sentence":"Check GET k","script":"expect GET k => (nil)"},"#,
            r#"{"line":3,"kind":"predict","text":"Which?","sentence":"Predict: Which?","script":"predict \"Which?\" | a | b","choices":["a","b"]}]"#
        )
    );
    let o = r.run_all();
    assert_eq!(
        o[1].to_json(),
        concat!(
            r#"{"index":1,"line":2,"kind":"expect","text":"GET k => (nil)","output":["(nil)"],"passed":true,"failure":null,"#,
            r#""sentence":"Key k does not exist (GET returns nil).","prediction":null}"#
        )
    );
    assert_eq!(
        o[2].to_json(),
        concat!(
            r#"{"index":2,"line":3,"kind":"predict","text":"Which?","output":["a"],"passed":null,"failure":null,"#,
            r#""sentence":"The answer: a.","prediction":{"choices":["a","b"],"right":0,"given":null,"correct":null}}"#
        )
    );
    assert!(r.done());
}

#[test]
fn random_scripts_never_panic() {
    // Steps in any order (crashes while down, rewrites of a refused server, probes before any
    // file, odd bytes): the runner reports, it never panics.
    const WORDS: &[&str] = &[
        "SET k v",
        "SET k v EX 1",
        "INCR n",
        "RPUSH l a b",
        "DEL k",
        "BGREWRITEAOF",
        "BGSAVE",
        "MULTI",
        "EXEC",
        "FLUSHALL",
        "tick 0",
        "tick 150",
        "tick 1200",
        "crash kill",
        "crash power",
        "crash torn",
        "restart",
        "rewrite",
        "check-aof",
        "check-aof --fix",
        "config aof-load-truncated no",
        "config aof-load-truncated yes",
        "config appendfsync always",
        "config appendonly no",
        "config lab-rewrite-keys-per-tick 1",
        "say x",
        "expect GET k => \"v\"",
        "expect @aof => ",
        "expect @files => x",
        "expect @manifest => x",
        "expect @layers appendonly.aof.1.incr.aof => x",
        "expect @crash keys_after => 0",
        "expect @info aof_rewrites => 0",
        "crash torn-seq",
        "repeat 30 SET k{i} v",
        "restart appendonly no",
        "restart lab-aof-mode 6.2",
        "config lab-aof-mode 7.0",
        "config lab-fsync-latency-ms 3000",
        "mark here",
        "note aside",
        "predict \"q\" | a | b",
        "wait @info aof_rewrite_in_progress => 0",
        "wait DBSIZE => (integer) 99",
        "expect @auto-rewrite => x",
        "expect @records appendonly.aof.1.incr.aof => x",
        "expect @head appendonly.aof.1.incr.aof 5 => x",
        "expect @size dump.rdb => 0",
        "expect @log AOF => x",
        "expect @rewrite-diff => 0",
    ];
    const BAD: &[&str] = &[
        "\"unbalanced",
        "\u{0}\u{7f}\u{e9}",
        "tick x",
        "=> y",
        "crash",
        "expect =>",
        "predict q | a",
        "mark",
        "repeat 0 INCR n",
        "redis.conf appendonly no",
        "wait => 1",
    ];
    let mut rng = fastrand::Rng::with_seed(7);
    let mut ran = 0;
    for round in 0..80 {
        // One script in four has a malformed line somewhere: parse errors, not panics.
        let words: Vec<&str> = if round % 4 == 0 { WORDS.iter().chain(BAD).copied().collect() } else { WORDS.to_vec() };
        let text: Vec<&str> = (0..rng.usize(1..25)).map(|_| words[rng.usize(..words.len())]).collect();
        let text = text.join("\n");
        match parse(&text) {
            Ok(steps) => {
                let n = steps.len();
                let out = Runner::new(steps).run_all();
                assert_eq!(out.len(), n, "{text}");
                ran += 1;
            }
            Err(errors) => assert!(errors.iter().all(|e| e.line >= 1), "{text}"),
        }
    }
    assert!(ran >= 60, "only {ran} scripts ran");
}

#[test]
fn bad_config_is_an_error_reply_not_a_panic() {
    let out = run("config appendfsync sometimes\nconfig lab-rewrite-keys-per-tick many\n");
    assert!(out[0].output[0].starts_with("(error) ERR"), "{:?}", out[0].output);
    assert!(out[1].output[0].starts_with("(error)"), "{:?}", out[1].output);
}

#[test]
fn malformed_predict_and_mark_lines_are_reported_with_their_numbers() {
    let text = "SET k v\n\
        predict Which one? | a | b\n\
        predict \"Which one?\" a | b\n\
        predict \"Which one?\" | only\n\
        predict \"Which one?\" | a | | b\n\
        predict \"Which one?\" | a | a\n\
        predict \"unclosed | a | b\n\
        predict \"\" | a | b\n\
        mark\n\
        mark   \n\
        mark A chapter\n\
        predict \"Is \\\"this\\\" fine?\" | yes | no\n";
    let errs = parse(text).unwrap_err();
    let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
    assert_eq!(lines, [2, 3, 4, 5, 6, 7, 8, 9, 10], "{errs:?}");
    let said: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
    assert!(said[0].starts_with("line 2: predict takes \"<question>\""), "{said:?}");
    assert!(said[0].ends_with("the question must be in double quotes"), "{said:?}");
    assert!(said[1].ends_with("'|' and the choices must follow the question"), "{said:?}");
    assert!(said[2].ends_with("at least two choices, the right one first"), "{said:?}");
    assert!(said[3].ends_with("a choice is empty"), "{said:?}");
    assert!(said[4].ends_with("two choices are the same"), "{said:?}");
    assert!(said[5].ends_with("the question's closing quote is missing"), "{said:?}");
    assert!(said[6].ends_with("the question is empty"), "{said:?}");
    assert_eq!(said[7], "line 9: mark needs a text");
    assert_eq!(said[8], "line 10: mark needs a text");
    // The good lines parse: a quote inside the question is escaped.
    let steps = parse("mark A chapter\npredict \"Is \\\"this\\\" fine?\" | yes | no | maybe\n").unwrap();
    assert_eq!(steps[0].kind, StepKind::Mark("A chapter".into()));
    assert_eq!(
        steps[1].kind,
        StepKind::Predict { question: "Is \"this\" fine?".into(), choices: vec!["yes".into(), "no".into(), "maybe".into()] }
    );
}

#[test]
fn other_new_lines_are_checked_too() {
    let text = "repeat 0 INCR n\nrepeat many INCR n\nrepeat 3\nrepeat 3 @info x\nrepeat 3 SET \"k\nwait GET k\n\
        restart appendonly\nnote\ncrash torn-seq\nexpect @head f => x\nexpect @log => x\nexpect @auto-rewrite now => x\n";
    let lines: Vec<usize> = parse(text).unwrap_err().iter().map(|e| e.line).collect();
    assert_eq!(lines, [1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12]);
    // redis.conf sets up the machine: only before the first step that talks to the server.
    assert!(parse("say hi\nmark start\nredis.conf appendonly no\nredis.conf aof-use-rdb-preamble no\nSET k v\n").is_ok());
    let errs = parse("redis.conf appendonly no\nSET k v\nredis.conf appendfsync always\n").unwrap_err();
    assert_eq!(errs.len(), 1);
    assert!(errs[0].to_string().starts_with("line 3: redis.conf sets up the machine before it runs"), "{}", errs[0]);
}

#[test]
fn every_step_reads_back_from_its_script() {
    let text = "SET k \"a b\"\nrepeat 3 SET k{i} v\ntick 100\ncrash torn-seq\nrestart\nrestart appendonly yes\nrewrite\n\
        config appendfsync always\ncheck-aof --fix\nsay Hello.\nnote Aside.\nmark M\npredict \"A \\\"q\\\"?\" | x | y\n\
        expect LRANGE l 0 -1 => 1) \"a\"\n=> 2) \"b\"\nwait @info aof_rewrites => 1\n";
    let steps = parse(text).unwrap();
    assert_eq!(steps.len(), 15);
    for s in &steps {
        let again = parse(&s.script()).unwrap_or_else(|e| panic!("{}: {e:?}", s.script()));
        assert_eq!(again.len(), 1, "{}", s.script());
        assert_eq!(again[0].kind, s.kind, "{}", s.script());
    }
    let redis_conf = parse("redis.conf lab-aof-mode 6.2").unwrap();
    assert_eq!(parse(&redis_conf[0].script()).unwrap()[0].kind, redis_conf[0].kind);
}

#[test]
fn a_predict_records_the_answer_and_reveals_the_right_one() {
    let text = "predict \"Which survives?\" | a | b | c\npredict \"Again?\" | yes | no\npredict \"Skipped?\" | yes | no\nSET k v\n";
    let mut r = Runner::from_text(text).unwrap();
    assert_eq!(r.answer(Some(3)), Err("choice 3 out of 3".into()));
    r.answer(Some(2)).unwrap();
    let o = r.step().unwrap();
    assert_eq!(o.kind, "predict");
    assert_eq!(o.prediction, Some(Prediction { choices: vec!["a".into(), "b".into(), "c".into()], given: Some(2) }));
    assert_eq!(o.sentence, "You predicted “c”; the answer is “a”.");
    assert_eq!(o.output, ["a"]);
    assert!(o.to_json().contains(r#""prediction":{"choices":["a","b","c"],"right":0,"given":2,"correct":false}"#));
    r.answer(Some(0)).unwrap();
    let o = r.step().unwrap();
    assert_eq!(o.sentence, "You predicted “yes”: right.");
    assert!(o.to_json().contains(r#""given":0,"correct":true"#));
    // No answer: skipped, and the answer is revealed.
    let o = r.step().unwrap();
    assert_eq!(o.sentence, "The answer: yes.");
    assert_eq!(r.answer(None), Err("the next step is not a predict".into()));
    assert_eq!(r.answers(), [(0, Some(2)), (1, Some(0)), (2, None)]);
    // A predict changes nothing on the server.
    r.step();
    assert_eq!(r.lab.keys(), 1);
}

#[test]
fn marks_and_notes_are_narration() {
    let out = run("mark Chapter one\nnote Redis 7.0 differs.\nSET k v\n");
    assert_eq!((out[0].kind, out[0].sentence.as_str(), out[0].passed), ("mark", "Chapter one", None));
    assert_eq!((out[1].kind, out[1].sentence.as_str()), ("note", "Redis 7.0 differs."));
    assert_eq!(out[2].sentence, "SET k v: OK");
}

#[test]
fn repeat_runs_a_command_n_times_with_its_number() {
    let out = run("repeat 3 RPUSH l item{i}\nexpect LRANGE l 0 -1 => 1) \"item1\"\n=> 2) \"item2\"\n=> 3) \"item3\"\n\
        repeat 200 INCR n\nexpect @aof => *2\\r\\n$4\\r\\nINCR\\r\\n$1\\r\\nn\\r\\n\nexpect GET n => \"200\"\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[0].output, ["(integer) 3"]);
    assert_eq!(out[2].sentence, "Ran INCR n 200 times; the last reply: (integer) 200.");
    // The LRANGE check as a sentence.
    assert_eq!(out[1].sentence, "LRANGE l 0 -1 returns \"item1\", \"item2\", \"item3\".");
}

#[test]
fn wait_lets_time_pass_until_the_check_holds_or_gives_up() {
    let out = run("config lab-rewrite-keys-per-tick 1\nrepeat 4 SET k{i} v\nBGREWRITEAOF\n\
        wait @info aof_rewrite_in_progress => 0\nwait @info aof_rewrites => 1\nwait DBSIZE => (integer) 5\n");
    // Four keys, one per cron tick; the done handler runs in the tick that writes the last.
    assert_eq!(out[3].passed, Some(true), "{:?}", out[3]);
    assert_eq!(out[3].sentence, "After 400 ms: no rewrite is running (aof_rewrite_in_progress:0).");
    assert_eq!(out[4].sentence, "At once: 1 rewrite has started (aof_rewrites:1).");
    // Never: it gives up after MAX_WAIT_MS, and says so.
    assert_eq!(out[5].passed, Some(false));
    assert_eq!(out[5].failure.as_deref(), Some("line 6: wait DBSIZE: wanted (integer) 5, got (integer) 4 after 2 min"));
    assert_eq!(out[5].sentence, "After 2 min: expected DBSIZE is 5, but DBSIZE is 4.");
}

#[test]
fn the_auto_rewrite_probe_says_why_cron_starts_a_rewrite() {
    let out = run(
        "config auto-aof-rewrite-min-size 100\nexpect @auto-rewrite => waits: aof_current_size 0 is not above auto-aof-rewrite-min-size 100; a rewrite starts at 101 bytes\n\
        repeat 4 SET key{i} value{i}\nexpect @auto-rewrite => due: growth 16200% >= 100% (aof_current_size 163, aof_base_size 0)\n\
        wait @info aof_rewrites => 1\nexpect @log automatic => * Starting automatic rewriting of AOF on 16200% growth\n\
        config auto-aof-rewrite-percentage 0\nexpect @auto-rewrite => off: auto-aof-rewrite-percentage is 0\n",
    );
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(
        out[3].sentence,
        "The automatic rewrite is due at the next cron tick: growth 16200% >= 100% (aof_current_size 163, aof_base_size 0)."
    );
    // 163 bytes: SELECT 0 (23 bytes), then four SETs of 35: *3 $3 SET $4 key1 $6 value1, with CRLFs.
    assert_eq!(23 + 4 * (4 + 4 + 5 + 4 + 6 + 4 + 8), 163);
}

#[test]
fn redis_conf_starts_an_empty_machine_with_that_setting() {
    let out = run("redis.conf appendonly no\nexpect @files => (no files)\nexpect @info aof_enabled => 0\nSET a 1\nSAVE\n\
        restart appendonly yes\nexpect DBSIZE => (integer) 0\n\
        expect @log Creating AOF base => * Creating AOF base file appendonly.aof.1.base.rdb on server start\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[0].sentence, "The machine starts empty, with appendonly no in redis.conf.");
    assert_eq!(out[5].sentence, "redis-server started again: 0 keys loaded.");
    assert_eq!(out[6].sentence, "DBSIZE is 0 after the restart.");
    // The 6.2 design, then an upgrade: a start-up setting waits for the next start.
    let out = run("redis.conf lab-aof-mode 6.2\nSET a 1\nexpect @files => appendonly.aof\nconfig lab-aof-mode 7.0\nrestart\n\
        expect @manifest => file appendonly.aof seq 1 type b\n=> file appendonly.aof.1.incr.aof seq 1 type i\nexpect GET a => \"1\"\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[3].output, ["lab-aof-mode 7.0 (a start-up setting, for the next start)"]);
    // The deletions were made durable: a power loss does not bring the first start's files back.
    let out = run("redis.conf lab-aof-mode 6.2\nSET a 1\ncrash power\nexpect @files => appendonly.aof\n");
    assert_eq!(failures(&out), Vec::<String>::new());
}

#[test]
fn a_slow_fsync_postpones_the_write_for_up_to_2_s() {
    let out = run("config lab-fsync-latency-ms 5000\nSET a 1\ntick 1000\nSET b 2\nexpect @info aof_buffer_length => 27\n\
        wait @info aof_delayed_fsync => 1\nexpect @info aof_buffer_length => 0\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(out[0].sentence, "The disk is slow now: a background fsync takes 5 s.");
    // Postponed at 1 s (unix second 1), written anyway when 2 whole seconds have passed.
    assert_eq!(out[5].sentence, "After 2 s: a write gave up waiting for a slow fsync 1 time (aof_delayed_fsync:1).");
}

#[test]
fn checks_read_as_sentences_and_a_failure_says_both_sides() {
    let out = run("SET greeting hello\nexpect @layers appendonly.aof.1.incr.aof => written 61, on disk 61\nINCR n\n\
        expect @layers appendonly.aof.1.incr.aof => written 61, on disk 61\ncrash kill\nexpect DBSIZE => (integer) 3\n\
        expect @crash lost_aof_buf => 0\nexpect TTL greeting => (integer) -1\nexpect @files => appendonly.aof.1.base.rdb\n\
        expect @aof => \nexpect @info aof_rewrites => 0\n");
    let s: Vec<&str> = out.iter().map(|o| o.sentence.as_str()).collect();
    assert_eq!(s[1], "The file appendonly.aof.1.incr.aof is on disk: 61 of 61 bytes.");
    assert_eq!(
        s[3],
        "Expected the file appendonly.aof.1.incr.aof is on disk: 61 of 61 bytes, but the file appendonly.aof.1.incr.aof is only partly on disk: 61 of 82 bytes (21 only in the page cache)."
    );
    assert_eq!(s[5], "Expected DBSIZE is 3, but DBSIZE is 2 after the restart.");
    assert_eq!(s[6], "The crash lost 0 bytes that were still in aof_buf (process memory).");
    assert_eq!(s[7], "Key greeting has no expiry after the restart.");
    assert_eq!(
        s[8],
        "Expected the only AOF file is appendonly.aof.1.base.rdb, but the AOF files are appendonly.aof.1.base.rdb, appendonly.aof.1.incr.aof and appendonly.aof.manifest."
    );
    assert_eq!(s[9], "Nothing was appended to aof_buf.");
    assert_eq!(s[10], "No rewrite has started yet (aof_rewrites:0).");
    // The raw comparison stays available.
    assert_eq!(
        out[3].failure.as_deref(),
        Some("line 4: expect @layers appendonly.aof.1.incr.aof: wanted written 61, on disk 61, got written 82, on disk 61")
    );
    // Other claims, from the values alone.
    use super::sentence::claim;
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    assert_eq!(claim("@aof", &v(&["*2\\r\\n$4\\r\\nINCR\\r\\n$1\\r\\nn\\r\\n"])), "Redis appended 21 bytes to aof_buf: INCR n");
    assert_eq!(claim("GET k", &v(&["(nil)"])), "key k does not exist (GET returns nil)");
    assert_eq!(claim("PING", &v(&[crate::lab::REFUSED])), "the server is down: redis-cli cannot connect");
    assert_eq!(
        claim("SET k v", &v(&["(error) MISCONF Errors writing to the AOF file: No space left on device"])),
        "SET k v is refused: MISCONF Errors writing to the AOF file: No space left on device"
    );
    assert_eq!(
        claim("@head appendonly.aof.2.base.rdb 9", &v(&["REDIS0010"])),
        "the file appendonly.aof.2.base.rdb begins with “REDIS0010”: an RDB image (RDB version 10)"
    );
    assert_eq!(
        claim(
            "@manifest",
            &v(&[
                "file appendonly.aof.2.base.rdb seq 2 type b",
                "file appendonly.aof.1.incr.aof seq 1 type h",
                "file appendonly.aof.2.incr.aof seq 2 type i"
            ])
        ),
        "the manifest lists the base appendonly.aof.2.base.rdb (seq 2), the history file appendonly.aof.1.incr.aof (seq 1) and the incr file appendonly.aof.2.incr.aof (seq 2)"
    );
    assert_eq!(
        claim("@log too long", &v(&["* Asynchronous AOF fsync is taking too long (disk is busy?)."])),
        "the server logged “Asynchronous AOF fsync is taking too long (disk is busy?).”"
    );
    assert_eq!(claim("@crash rdb_keys", &v(&["none"])), "an RDB-only server would have started empty (no dump.rdb)");
}

#[test]
fn check_aof_says_what_it_cut() {
    let out =
        run("config aof-load-truncated no\nSET a 1\nSET b 2\ncrash torn\ncheck-aof\ncheck-aof --fix\nrestart\nexpect GET a => \"1\"\n");
    assert_eq!(failures(&out), Vec::<String>::new());
    assert_eq!(
        out[4].sentence,
        "redis-check-aof: AOF appendonly.aof.1.incr.aof is not valid. Use the --fix option to try fixing it. (exit code 1)."
    );
    assert_eq!(
        out[5].sentence,
        "redis-check-aof --fix cut appendonly.aof.1.incr.aof from 63 to 50 bytes (13 bytes dropped), then said: All AOF files and manifest are valid (exit code 0)."
    );
    assert_eq!(out[6].sentence, "redis-server started again: 1 key loaded.");
}

/// The built-in scenarios listed in www/scenarios/index.json (`"name": "…"`), with their text.
pub(crate) fn built_in() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("www/scenarios");
    let index = std::fs::read_to_string(dir.join("index.json")).expect("www/scenarios/index.json");
    let names: Vec<String> = index.split("\"name\":").skip(1).filter_map(|r| r.split('"').nth(1)).map(str::to_string).collect();
    // Every file is in the index, and every name in the index has its file.
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .expect("www/scenarios")
        .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".txt").map(str::to_string))
        .collect();
    files.sort();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(files, sorted, "index.json and the .txt files differ");
    names.into_iter().map(|n| (n.clone(), std::fs::read_to_string(dir.join(format!("{n}.txt"))).expect("scenario file"))).collect()
}

/// Every built-in scenario played to the end: every check passes, and no step fails (no error
/// reply, no refused setting, no rewrite that did not finish), whatever the predictions.
#[test]
fn every_built_in_scenario_plays_to_the_end_with_every_check_passing() {
    let scenarios = built_in();
    assert!(scenarios.len() >= 17, "{}", scenarios.len());
    let mut problems = Vec::new();
    for (name, text) in &scenarios {
        let steps = match parse(text) {
            Ok(s) => s,
            Err(e) => {
                problems.push(format!("{name}: {e:?}"));
                continue;
            }
        };
        let n = steps.len();
        assert!((5..=40).contains(&n), "{name}: {n} steps");
        assert!(steps.iter().any(|s| matches!(s.kind, StepKind::Note(_))), "{name}: no note says where the article simplifies");
        assert!(steps.last().is_some_and(|s| s.kind.is_check()), "{name} must end with a check");
        for s in &steps {
            assert_eq!(parse(&s.script()).map(|p| p[0].kind.clone()).ok(), Some(s.kind.clone()), "{name}: {}", s.script());
        }
        // Play it twice: once skipping every prediction, once answering each one wrong.
        for answering in [false, true] {
            let mut r = Runner::new(steps.clone());
            let mut out = Vec::new();
            while !r.done() {
                if answering && matches!(r.steps()[r.next_index()].kind, StepKind::Predict { .. }) {
                    r.answer(Some(1)).unwrap();
                }
                out.extend(r.step());
            }
            assert_eq!(out.len(), n);
            for o in &out {
                if let Some(f) = &o.failure {
                    problems.push(format!("{name}.txt {f}"));
                }
                let failed =
                    o.output.iter().any(|l| l.starts_with("(error)") || l.contains("did not finish") || l.contains("refused to start:"));
                if !o.kind.is_empty() && o.passed.is_none() && failed && o.kind != "crash" {
                    problems.push(format!("{name}.txt line {}: {} failed: {:?}", o.line, o.kind, o.output));
                }
                assert!(!o.sentence.is_empty(), "{name} line {}: no sentence", o.line);
                if o.passed.is_some() {
                    assert!(o.sentence.ends_with('.') && !o.sentence.contains("=>"), "{name} line {}: {}", o.line, o.sentence);
                    assert!(o.sentence.chars().next().is_some_and(|c| !c.is_lowercase()), "{name} line {}: {}", o.line, o.sentence);
                }
            }
            if answering {
                let predicts = steps.iter().filter(|s| matches!(s.kind, StepKind::Predict { .. })).count();
                assert_eq!(r.answers().len(), predicts);
                assert!(r.answers().iter().all(|(_, a)| *a == Some(1)));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_auto_rewrite_status_follows_redis_growth_rule() {
    use crate::aof::bgrewrite::AutoRewrite;
    let mut r = Runner::new(vec![]);
    let srv = &mut r.lab.engine.srv;
    let mut checked = 0;
    for base in [0u64, 1, 7, 99, 676, 1000, 4096] {
        for percentage in [1u32, 50, 100, 250] {
            for min_size in [0u64, 100, 1024] {
                srv.config.auto_aof_rewrite_percentage = percentage;
                srv.config.auto_aof_rewrite_min_size = min_size;
                srv.aof.rewrite_base_size = base;
                srv.aof.current_size = 0;
                let threshold = match srv.auto_rewrite_status() {
                    AutoRewrite::BelowMinSize { threshold, .. } | AutoRewrite::BelowGrowth { threshold, .. } => threshold,
                    other => panic!("{other:?}"),
                };
                // serverCron's rule (aof.c): above min-size, and
                // aof_current_size*100/base - 100 >= auto-aof-rewrite-percentage, base 0 counted as 1.
                let redis = |current: u64| current > min_size && (current as i64) * 100 / base.max(1) as i64 - 100 >= i64::from(percentage);
                for current in threshold.saturating_sub(300)..=threshold + 300 {
                    srv.aof.current_size = current;
                    let due = matches!(srv.auto_rewrite_status(), AutoRewrite::Due { .. });
                    assert_eq!(due, redis(current), "base {base}, {percentage}%, min-size {min_size}, size {current}");
                }
                assert!(redis(threshold) && !redis(threshold - 1), "the threshold is the first size that is due");
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 84);
    srv.config.auto_aof_rewrite_percentage = 0;
    assert_eq!(srv.auto_rewrite_status(), AutoRewrite::Disabled);
}
