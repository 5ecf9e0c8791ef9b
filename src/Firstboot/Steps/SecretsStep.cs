// Step 2: the site's secrets moved from the boot partition to DATA (0600), then cut out of site.yaml and wiped.
using Appliance.Common;
using Appliance.Firstboot.Site;

namespace Appliance.Firstboot.Steps;

/// <summary>
/// Copies document 2 of site.yaml to the data partition (token and PKI files, 0600, each written atomically and
/// durably), then cuts site.yaml before document 2 and overwrites every byte past the cut in its clusters before they
/// are freed (<see cref="Fat.FatEditor.Truncate"/>), so no copy remains on the boot partition, free clusters
/// included. Repeatable: a run cut short after the copy finds site.yaml already short or still whole, and in either
/// case copies what document 2 still holds and wipes what lies past the end.
/// </summary>
public static class SecretsStep
{
    /// <summary>The site.yaml path on the boot partition.</summary>
    public const string SiteYamlPath = "appliance/site.yaml";

    /// <summary>Runs the step.</summary>
    public static void Run(BootPartition boot, FirstbootPaths paths, Action<string> log, Action<string> stopPoint)
    {
        boot.Edit(fat =>
        {
            var bytes = fat.ReadFile(SiteYamlPath);
            var site = SiteConfig.Parse(bytes, SiteYamlPath);
            uint cut = (uint)bytes.Length;
            if (site.Secrets is { } secrets)
            {
                Copy(site.Role, secrets, paths, log);
                stopPoint("secrets:copied");
                cut = (uint)site.SecretsOffset;
            }
            else log("secrets: site.yaml holds no secrets document (already moved, or none); wiping what lies past its end");
            fat.Truncate(SiteYamlPath, cut, point => stopPoint("secrets:" + point));
            log($"secrets: site.yaml cut to {cut} bytes, the rest of its clusters overwritten with zeros and freed");
        });
    }

    /// <summary>
    /// Writes document 2's secrets to DATA (0600, each atomic and durable). Alone, without the cut, when booted live
    /// from the medium: its site.yaml is read-only and stays as it is.
    /// </summary>
    public static void Copy(string role, Secrets secrets, FirstbootPaths paths, Action<string> log)
    {
        foreach (var (path, content) in Destinations(role, secrets, paths))
        {
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.SetUnixFileMode(Path.GetDirectoryName(path)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            AtomicFile.WriteText(path, content, new AtomicFileOptions(Mode: AtomicFileOptions.OwnerOnly));
            log($"secrets: wrote {path} (0600)");
        }
    }

    /// <summary>Where each secret goes on DATA (the device contract).</summary>
    public static IEnumerable<(string Path, string Content)> Destinations(string role, Secrets secrets, FirstbootPaths paths)
    {
        if (secrets.ClusterToken is { } token)
            yield return (role == "agent" ? Path.Combine(paths.SecretsDir, "token") : Path.Combine(paths.Runtime, "token"), token + "\n");
        foreach (var (name, pem) in secrets.Pki)
            yield return (Path.Combine(paths.Runtime, "tls", name), pem.EndsWith('\n') ? pem : pem + "\n");
    }
}
