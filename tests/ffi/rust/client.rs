// SPDX-License-Identifier: MIT
//! Rust client of libvmctr with hand-written `extern "C"` declarations (rustc
//! only, no crates): runs a container in its own VM and reads its output.
//! Prints TAP. usage: client LAYOUT_DIR STORE_DIR KERNEL
use std::ffi::{CStr, CString};
use std::io::Read;
use std::os::raw::{c_char, c_int, c_void};
use std::os::unix::io::FromRawFd;

#[repr(C)]
struct VmctrError {
    code: i32,
    os_errno: i32,
    message: *const c_char,
}

type Handle = *mut c_void;

#[link(name = "vmctr")]
extern "C" {
    fn vmctr_error_last() -> *const VmctrError;
    fn vmctr_image_store_open(out: *mut Handle, root: *const c_char, flags: u32) -> c_int;
    fn vmctr_image_store_free(s: Handle);
    fn vmctr_image_store_import(s: Handle, src: *const c_char, opts: *const c_void, out: *mut Handle) -> c_int;
    fn vmctr_image_free(i: Handle);
    fn vmctr_image_create_writable(i: Handle, dest: *const c_char, opts: *const c_void, form: *mut i32) -> c_int;
    fn vmctr_mount_new_block(out: *mut Handle, path: *const c_char, dest: *const c_char) -> c_int;
    fn vmctr_mount_free(m: Handle);
    fn vmctr_bootcfg_new(out: *mut Handle) -> c_int;
    fn vmctr_bootcfg_set_kernel(b: Handle, path: *const c_char) -> c_int;
    fn vmctr_bootcfg_free(b: Handle);
    fn vmctr_process_config_new(out: *mut Handle) -> c_int;
    fn vmctr_process_config_set_args(p: Handle, args: *const *const c_char, n: usize) -> c_int;
    fn vmctr_process_config_set_stdio(p: Handle, i: i32, o: i32, e: i32) -> c_int;
    fn vmctr_process_config_free(p: Handle);
    fn vmctr_container_config_new(out: *mut Handle) -> c_int;
    fn vmctr_container_config_set_process(c: Handle, p: Handle) -> c_int;
    fn vmctr_container_config_set_image(c: Handle, i: Handle) -> c_int;
    fn vmctr_container_config_free(c: Handle);
    fn vmctr_container_new(out: *mut Handle, id: *const c_char, rootfs: Handle, boot: Handle, cfg: Handle) -> c_int;
    fn vmctr_container_start(c: Handle) -> c_int;
    fn vmctr_container_init_process(c: Handle) -> Handle;
    fn vmctr_process_wait(p: Handle, timeout_ms: i32, code: *mut i32, sig: *mut i32) -> c_int;
    fn vmctr_container_stop(c: Handle, grace_ms: u32) -> c_int;
    fn vmctr_container_free(c: Handle);
}

extern "C" {
    fn pipe(fds: *mut c_int) -> c_int;
    fn close(fd: c_int) -> c_int;
}

fn check(rc: c_int, what: &str) -> Result<(), String> {
    if rc < 0 {
        let msg = unsafe { CStr::from_ptr((*vmctr_error_last()).message) };
        return Err(format!("{}: {} ({})", what, msg.to_string_lossy(), rc));
    }
    Ok(())
}

fn cs(s: &str) -> CString {
    CString::new(s).unwrap()
}

struct Objects {
    store: Handle, image: Handle, mount: Handle, boot: Handle, proc_: Handle, cfg: Handle, ct: Handle,
}

impl Drop for Objects {
    fn drop(&mut self) {
        unsafe {
            vmctr_container_free(self.ct);
            vmctr_container_config_free(self.cfg);
            vmctr_process_config_free(self.proc_);
            vmctr_bootcfg_free(self.boot);
            vmctr_mount_free(self.mount);
            vmctr_image_free(self.image);
            vmctr_image_store_free(self.store);
        }
    }
}

fn run(layout: &str, store_dir: &str, kernel: &str) -> Result<(i32, String), String> {
    let null = std::ptr::null_mut();
    let mut o = Objects { store: null, image: null, mount: null, boot: null, proc_: null, cfg: null, ct: null };
    let disk = format!("{}/rust.ext4", store_dir);
    let mut fds = [0 as c_int; 2];
    unsafe {
        check(vmctr_image_store_open(&mut o.store, cs(store_dir).as_ptr(), 0), "store")?;
        check(vmctr_image_store_import(o.store, cs(layout).as_ptr(), std::ptr::null(), &mut o.image), "import")?;
        let mut form = 0i32;
        check(vmctr_image_create_writable(o.image, cs(&disk).as_ptr(), std::ptr::null(), &mut form), "disk")?;
        check(vmctr_mount_new_block(&mut o.mount, cs(&disk).as_ptr(), std::ptr::null()), "mount")?;
        check(vmctr_bootcfg_new(&mut o.boot), "bootcfg")?;
        check(vmctr_bootcfg_set_kernel(o.boot, cs(kernel).as_ptr()), "kernel")?;
        check(vmctr_process_config_new(&mut o.proc_), "process")?;
        let args = [cs("sh"), cs("-c"), cs("echo hello from rust; exit 3")];
        let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).collect();
        check(vmctr_process_config_set_args(o.proc_, argv.as_ptr(), argv.len()), "args")?;
        if pipe(fds.as_mut_ptr()) != 0 {
            return Err("pipe".into());
        }
        check(vmctr_process_config_set_stdio(o.proc_, -1, fds[1], -1), "stdio")?;
        check(vmctr_container_config_new(&mut o.cfg), "config")?;
        check(vmctr_container_config_set_process(o.cfg, o.proc_), "set process")?;
        check(vmctr_container_config_set_image(o.cfg, o.image), "set image")?;
        let r = vmctr_container_new(&mut o.ct, cs("rustffi").as_ptr(), o.mount, o.boot, o.cfg);
        if r < 0 {
            close(fds[1]);
        }
        check(r, "create")?;
        let r = vmctr_container_start(o.ct);
        close(fds[1]); // duplicated at start: the library keeps its own
        check(r, "start")?;
        let (mut code, mut sig) = (-1i32, -1i32);
        check(vmctr_process_wait(vmctr_container_init_process(o.ct), 60000, &mut code, &mut sig), "wait")?;
        check(vmctr_container_stop(o.ct, 1000), "stop")?;
        let mut out = String::new();
        let mut f = std::fs::File::from_raw_fd(fds[0]);
        f.read_to_string(&mut out).map_err(|e| e.to_string())?;
        let _ = std::fs::remove_file(&disk);
        Ok((code, out))
    }
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 4 {
        eprintln!("usage: client LAYOUT_DIR STORE_DIR KERNEL");
        std::process::exit(2);
    }
    match run(&a[1], &a[2], &a[3]) {
        Ok((code, out)) => {
            let ok1 = code == 3;
            let ok2 = out == "hello from rust\n";
            println!("{} 1 - exit code crosses the FFI (got {})", if ok1 { "ok" } else { "not ok" }, code);
            println!("{} 2 - stdout read from our pipe (got {:?})", if ok2 { "ok" } else { "not ok" }, out);
            println!("1..2");
            std::process::exit(if ok1 && ok2 { 0 } else { 1 });
        }
        Err(e) => {
            println!("not ok 1 - container through Rust FFI");
            println!("# {}", e);
            println!("1..1");
            std::process::exit(1);
        }
    }
}
