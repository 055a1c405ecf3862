//! Host bindings generated from the one WIT contract in `plugin-sdk/wit`.

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});
