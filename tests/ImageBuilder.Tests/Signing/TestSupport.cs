// Tool lookup and npm package caches for the signing tests.

namespace Appliance.ImageBuilder.Tests.Signing;

/// <summary>Finds the tools the signing tests check against.</summary>
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
        var install = new[] { "install", "--no-audit", "--no-fund", "--ignore-scripts", "--omit=optional" }.Concat(packages);
        string? failure = null;
        try
        {
            var r = ProcessRunner.Run(npm!, install, new ProcessOptions { WorkingDirectory = dir, Timeout = TimeSpan.FromSeconds(110) });
            if (r.ExitCode != 0) failure = $"exit {r.ExitCode}: {Last(r.Error)}";
        }
        catch (TimeoutException e)
        {
            failure = Last(e.Message);
        }
        if (failure != null || !File.Exists(Path.Combine(dir, "node_modules", probe)))
            Assert.Skip($"npm install {string.Join(' ', packages)} failed ({failure ?? $"no node_modules/{probe} after the install"})");
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
        return ProcessRunner.Run(Tools.Find("node")!, [path, .. args], new ProcessOptions { WorkingDirectory = dir, Timeout = TimeSpan.FromSeconds(60) });
    }
}
