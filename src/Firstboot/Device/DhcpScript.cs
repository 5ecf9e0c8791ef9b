// The udhcpc event script firstboot writes: it applies a lease with busybox ip and merges /etc/resolv.conf.
namespace Appliance.Firstboot.Device;

/// <summary>
/// The script busybox udhcpc runs at each DHCP event (<c>-s SCRIPT</c>; udhcpc passes the lease in the environment:
/// <c>interface ip mask router dns domain lease serverid</c>). <c>bound</c>/<c>renew</c> set the address
/// (<c>ip addr replace</c>; a changed address replaces the old one), the default route via the first router (only
/// when the server gives one), the interface's nameservers, and write <c>STATE/IF.lease</c> last, which is what
/// firstboot waits for. <c>deconfig</c> (udhcpc's start, lease lost) removes the interface's IPv4 addresses and its
/// nameservers; <c>leasefail</c>/<c>nak</c> are recorded in <c>STATE/IF.event</c>. With the argument <c>resolv</c> it
/// only rebuilds /etc/resolv.conf from <c>STATE/resolv.d/*</c> (the static part is <c>00-static</c>): the one
/// place resolv.conf is written.
/// </summary>
internal static class DhcpScript
{
    /// <summary>The script text for these paths.</summary>
    public static string Render(string busybox, string stateDirectory, string resolvConf) => $$"""
        #!{{busybox}} sh
        # udhcpc event script written by appliance-firstboot (src/Firstboot/Device/DhcpScript.cs).
        BB='{{busybox}}'
        STATE='{{stateDirectory}}'
        RESOLV='{{resolvConf}}'

        merge_resolv() {
          tmp="$RESOLV.tmp.$$"
          { echo "# written by appliance-firstboot: the site profile's dns and the DHCP leases"
            $BB cat "$STATE"/resolv.d/* 2>/dev/null; } > "$tmp" && $BB mv -f "$tmp" "$RESOLV"
        }

        case "$1" in
          deconfig)
            $BB ip -4 addr flush dev "$interface"
            $BB ip link set dev "$interface" up
            $BB rm -f "$STATE/$interface.lease" "$STATE/resolv.d/50-dhcp-$interface"
            merge_resolv
            ;;
          leasefail|nak)
            echo "$1 $($BB date -u +%Y-%m-%dT%H:%M:%SZ) ${message:-}" > "$STATE/$interface.event"
            ;;
          bound|renew)
            old=$($BB sed -n 's/^ip=//p' "$STATE/$interface.lease" 2>/dev/null)
            if [ "$1" = bound ] || [ "$old" != "$ip" ]; then $BB ip -4 addr flush dev "$interface"; fi
            $BB ip addr replace "$ip/${mask:-24}" dev "$interface" || exit 1
            if [ -n "$router" ]; then
              set -- $router
              $BB ip route replace default via "$1" dev "$interface"
            fi
            : > "$STATE/resolv.d/50-dhcp-$interface.tmp"
            for d in $dns; do echo "nameserver $d" >> "$STATE/resolv.d/50-dhcp-$interface.tmp"; done
            [ -n "$domain" ] && echo "search $domain" >> "$STATE/resolv.d/50-dhcp-$interface.tmp"
            $BB mv -f "$STATE/resolv.d/50-dhcp-$interface.tmp" "$STATE/resolv.d/50-dhcp-$interface"
            merge_resolv
            printf 'ip=%s\nmask=%s\nrouter=%s\ndns=%s\nlease=%s\nserverid=%s\n' "$ip" "${mask:-24}" "$router" "$dns" "$lease" "$serverid" > "$STATE/$interface.lease.tmp"
            $BB mv -f "$STATE/$interface.lease.tmp" "$STATE/$interface.lease"
            ;;
          resolv)
            merge_resolv
            ;;
        esac
        exit 0

        """;
}
