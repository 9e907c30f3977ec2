// The loader's exports are the native binding's, typed by the declarations napi generates.
export * from './binding'
