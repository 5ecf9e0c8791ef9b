// Where the store lives: --store, then APPLIANCE_STORE, then ${XDG_DATA_HOME:-~/.local/share}/appliance/store.
namespace Appliance.ImageBuilder.Store;

/// <summary>Resolves the content store directory.</summary>
public static class StoreLocation
{
    /// <summary>The environment variable that names the store.</summary>
    public const string EnvironmentVariable = "APPLIANCE_STORE";

    /// <summary>The store directory from an explicit option, the environment, or the XDG default.</summary>
    public static string Resolve(string? option, Func<string, string?> env)
    {
        if (!string.IsNullOrEmpty(option))
            return NotAFile(Path.GetFullPath(option), "--store");
        if (env(EnvironmentVariable) is { Length: > 0 } e)
            return NotAFile(Path.GetFullPath(e), EnvironmentVariable);
        var data = env("XDG_DATA_HOME");
        if (string.IsNullOrEmpty(data))
        {
            var home = env("HOME");
            if (string.IsNullOrEmpty(home))
                home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
            data = Path.Combine(home, ".local", "share");
        }
        return Path.Combine(data, "appliance", "store");
    }

    /// <summary>A store is a directory: a path that names a regular file is bad input, not an empty store.</summary>
    private static string NotAFile(string path, string source) =>
        File.Exists(path)
            ? throw new UserInputException($"{source}: {path} is a file, not a content store directory")
            : path;
}
