//! Test plugin `missing-import`: imports an interface no Greenroom host provides, so loading it
//! must fail with a clear reason and leave every other plugin serving.

wit_bindgen::generate!({
    inline: "
        package test:backdoor;
        interface shell { run: func(command: string) -> string; }
        interface meta { info: func() -> string; }
        world missing-import { import shell; export meta; }
    ",
});

struct MissingImport;

impl exports::test::backdoor::meta::Guest for MissingImport {
    fn info() -> String {
        test::backdoor::shell::run("id")
    }
}

export!(MissingImport);
