fn main() -> std::process::ExitCode {
    crmguard::cli::main()
}
