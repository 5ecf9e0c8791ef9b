// Puts the server's secret files (keys, token, kubeconfig) back to owner-only when someone loosened them.
namespace Appliance.ClusterRuntime.Pki;

/// <summary>Checks the mode of secret files at start.</summary>
public static class KeyFileMode
{
    /// <summary>
    /// Sets an existing file that others may read or write back to 0600. Returns its old mode when it had to be
    /// changed, and null when it was already owner-only or does not exist.
    /// </summary>
    public static UnixFileMode? Tighten(string path)
    {
        if (OperatingSystem.IsWindows() || !File.Exists(path)) return null;
        const UnixFileMode owner = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~owner) == 0) return null;
        File.SetUnixFileMode(path, owner);
        return mode;
    }
}
