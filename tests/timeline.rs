#![cfg(not(target_arch = "wasm32"))]
use aof_lab::lab::input::{Action, Origin};
use aof_lab::lab::timeline::Timeline;

#[test]
fn smoke() {
    let s = vec![("appendonly".to_string(), "yes".to_string()), ("appendfsync".to_string(), "always".to_string())];
    let mut tl = Timeline::new(&s, 1, 1_700_000_000_000).unwrap();
    tl.set_checkpoint_every(3);
    for i in 0..20 {
        tl.apply(1_700_000_000_000 + i * 100, Action::Lines(vec![format!("SET k{i} {i}")]), Origin::User);
        tl.apply(1_700_000_000_000 + i * 100 + 50, Action::Tick, Origin::User);
    }
    let head = tl.lab_mut().snapshot();
    tl.seek(5);
    tl.seek(40);
    assert_eq!(tl.lab_mut().snapshot(), head);
    println!("{:?}", tl.checkpoints());
}
