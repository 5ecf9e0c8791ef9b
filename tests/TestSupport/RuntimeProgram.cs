// Where the appliance-runtime under test is: the published NativeAOT program (APPLIANCE_RUNTIME) or the built dll.
namespace Appliance.TestSupport;

/// <summary>
/// Locates <c>appliance-runtime</c> for any test project that references src/ClusterRuntime (which copies
/// appliance-runtime.dll next to the test assembly). tests/run.sh sets <c>APPLIANCE_RUNTIME</c> to the NativeAOT
/// build of kits/runtime/publish.sh, the form a device runs; without it the built dll runs on the dotnet host.
/// </summary>
public static class RuntimeProgram
{
    /// <summary>The dotnet host running the tests (DOTNET_HOST_PATH), else dotnet from PATH.</summary>
    public static string Dotnet => Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } h ? h : "dotnet";

    /// <summary>The built program: appliance-runtime.dll next to the test assembly.</summary>
    public static string Dll => Path.Combine(AppContext.BaseDirectory, "appliance-runtime.dll");

    /// <summary>The published program when <c>APPLIANCE_RUNTIME</c> names it, else null.</summary>
    public static string? Published => Environment.GetEnvironmentVariable("APPLIANCE_RUNTIME") is { Length: > 0 } p ? Path.GetFullPath(p) : null;

    /// <summary>The program to start: the published one, else the dotnet host.</summary>
    public static string Program => Published ?? Dotnet;

    /// <summary>The arguments that run <paramref name="args"/> with <see cref="Program"/> (the dll first for the host).</summary>
    public static string[] Arguments(params string[] args) => Published is null ? [Dll, .. args] : args;

    /// <summary>The whole command line, for a launcher such as nsenter: <see cref="Program"/>, then <see cref="Arguments"/>.</summary>
    public static string[] CommandLine(params string[] args) => [Program, .. Arguments(args)];
}
