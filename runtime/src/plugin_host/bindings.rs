//! Host bindings generated from the one WIT contract in `plugin-sdk/wit/v1.0.0`.

wasmtime::component::bindgen!({
    path: "../plugin-sdk/wit/v1.0.0",
    world: "plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});
