// Temp directories, child processes and npm package caches for the signing tests.
using System.Diagnostics;

namespace Appliance.ImageBuilder.Tests.Signing;

/// <summary>A temporary directory removed on dispose.</summary>
public sealed class TempDir : IDisposable
{
    /// <summary>Creates a fresh directory under the system temp path.</summary>
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "appliance-signing-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    /// <summary>The directory.</summary>
    public string Path { get; }

    /// <summary>A path inside the directory.</summary>
    public string this[string name] => System.IO.Path.Combine(Path, name);

    /// <inheritdoc/>
    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}

/// <summary>The result of a child process.</summary>
public sealed record ProcessResult(int ExitCode, string Out, string Error);

/// <summary>Runs tools.</summary>
public static class Tools
{
    /// <summary>The full path of <paramref name="name"/> on PATH, or null.</summary>
    public static string? Find(string name) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(d => System.IO.Path.Combine(d, name)).FirstOrDefault(File.Exists);

    /// <summary>The path of <paramref name="name"/>; skips the test (with the reason) when it is not installed.</summary>
    public static string Require(string name)
    {
        var path = Find(name);
        if (path == null)
            Assert.Skip($"'{name}' is not installed (listed in .ci/packages.d/signing.txt)");
        return path!;
    }

    /// <summary>Runs a process to completion (killing it after <paramref name="timeout"/>).</summary>
    public static ProcessResult Run(string file, IEnumerable<string> args, string? cwd = null, TimeSpan? timeout = null)
    {
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = cwd ?? Environment.CurrentDirectory,
        };
        foreach (var a in args)
            psi.ArgumentList.Add(a);
        using var p = Process.Start(psi)!;
        p.StandardInput.Close();
        var o = p.StandardOutput.ReadToEndAsync();
        var e = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(timeout ?? TimeSpan.FromMinutes(2)))
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
            return new ProcessResult(-1, o.Result, e.Result + $"\n(killed after {timeout ?? TimeSpan.FromMinutes(2)})");
        }
        return new ProcessResult(p.ExitCode, o.Result, e.Result);
    }
}

/// <summary>
/// npm packages installed once into ~/.cache/appliance/&lt;name&gt; (network to the npm registry is allowed for the
/// install; the verification itself runs offline). Guarded by a lock file, since test classes run in parallel.
/// </summary>
public static class NpmCache
{
    /// <summary>
    /// Returns the directory holding node_modules with <paramref name="packages"/> (name@version), installing them
    /// when <paramref name="probe"/> (a file under node_modules) is missing. Skips the test when node or npm is
    /// missing or the install fails.
    /// </summary>
    public static string Ensure(string name, string probe, params string[] packages)
    {
        var node = Tools.Find("node");
        var npm = Tools.Find("npm");
        if (node == null || npm == null)
            Assert.Skip($"node or npm is not installed; this interop check needs Node.js 20 and npm");
        var home = Environment.GetEnvironmentVariable("HOME");
        var root = Path.Combine(string.IsNullOrEmpty(home) ? Path.GetTempPath() : home, ".cache", "appliance");
        var dir = Path.Combine(root, name);
        Directory.CreateDirectory(dir);
        using var lockFile = AcquireLock(Path.Combine(root, name + ".lock"));
        if (File.Exists(Path.Combine(dir, "node_modules", probe)))
            return dir;
        var r = Tools.Run(npm!, ["install", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=optional", .. packages],
            dir, TimeSpan.FromSeconds(110));
        if (r.ExitCode != 0 || !File.Exists(Path.Combine(dir, "node_modules", probe)))
            Assert.Skip($"npm install {string.Join(' ', packages)} failed (exit {r.ExitCode}): {Last(r.Error)}");
        return dir;
    }

    private static string Last(string text)
    {
        var lines = text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join(" | ", lines.TakeLast(3));
    }

    private static FileStream AcquireLock(string path)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (DateTime.UtcNow < deadline)
            {
                Thread.Sleep(200);
            }
        }
    }

    /// <summary>Writes <paramref name="script"/> into <paramref name="dir"/> (so require() finds node_modules) and runs it.</summary>
    public static ProcessResult RunScript(string dir, string fileName, string script, params string[] args)
    {
        var path = Path.Combine(dir, fileName);
        var tmp = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
        File.WriteAllText(tmp, script);
        File.Move(tmp, path, overwrite: true);
        return Tools.Run(Tools.Find("node")!, [path, .. args], dir, TimeSpan.FromSeconds(60));
    }
}
